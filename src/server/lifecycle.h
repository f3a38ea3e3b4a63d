/*
 * lifecycle.h: which version of a key signs, what the JWKS holds, what may decrypt — pure
 * functions of (the key's versions, the clock). Every replica of `hwjose serve` reads the same
 * versions from the store and so computes the same answer, byte for byte; nothing here
 * remembers anything, does I/O or reads a clock.
 *
 * The timeline of a rotation that creates v(n+1) at `now` (docs/store.md):
 *
 *   now           publish_at            activate_at                         remove_at
 *    |--pending-----|---published----------|---active------------------------->
 *    |<publish_delay>|<----propagation----->|
 *   v(n): active ................................|---retiring-------------|removed
 *                                          retire_at = v(n+1).activate_at
 *                                                  |<-- max_ttl + leeway -->|
 *
 *   publish_delay >= 2 x the replicas' refresh interval + margin: every replica has loaded
 *                    v(n+1) before any publishes it, so all JWKS bodies are identical;
 *   propagation   >= the JWKS max-age: verifiers' caches hold v(n+1) before it signs;
 *   max_ttl+leeway: the last token v(n) signed has expired before v(n) leaves the JWKS.
 * The first version of a key is published and active at once (nothing to propagate to).
 */
#ifndef HWJ_SERVER_LIFECYCLE_H
#define HWJ_SERVER_LIFECYCLE_H

#include <stddef.h>
#include <stdint.h>

/* One version of a key, as the store holds it: public data and times only. */
typedef struct srv_version {
    char *key_name;
    int64_t version;  /* 1, 2, ... per key */
    char *uri;        /* token URI of this version's private key (pin-source, never pin-value) */
    char *kid;        /* unique across all keys */
    char *alg;        /* JOSE name */
    char *jwk;        /* the public JWK, compact JSON, exactly as published */
    char *origin;     /* "generated" | "imported" */
    char *created_by; /* instance id, or "cli" */
    int64_t created_at, publish_at, activate_at;
    int64_t retire_at, remove_at; /* 0 = not set yet (no successor) */
} srv_version;

/* The timing policy of a key (seconds). */
typedef struct srv_timing {
    int64_t publish_delay;   /* >= 2 x refresh interval + SRV_LC_MARGIN */
    int64_t propagation;     /* >= the JWKS max-age */
    int64_t max_ttl;         /* the longest lifetime of a token the key signs */
    int64_t leeway;          /* verifiers' clock leeway */
    int64_t rotation_period; /* 0 = no automatic rotation */
} srv_timing;

/* Slack on top of two refresh intervals, for a slow poll or a clock a little behind. */
#define SRV_LC_MARGIN 5

/* The times of a planned new version and of its predecessor (0 if it is the first). */
typedef struct srv_version_plan {
    int64_t version;
    int64_t created_at, publish_at, activate_at;
    int64_t prev_retire_at, prev_remove_at;
} srv_version_plan;

typedef enum srv_lc_result {
    SRV_LC_OK = 0,
    SRV_LC_CONFLICT = 1, /* a newer version is pending or published-not-active */
    SRV_LC_INVALID = 2,  /* negative timings, times that overflow, versions out of order */
} srv_lc_result;

/* In every function, `v` is one key's versions in ascending version order (as listed). */

/* A version that has been removed (t >= remove_at) neither signs, publishes nor decrypts. */
int srv_lc_removed(const srv_version *v, int64_t t);
/* The signing version at t: the highest with activate_at <= t, not removed; NULL if none. */
const srv_version *srv_lc_signing(const srv_version *v, size_t n, int64_t t);
/* In the JWKS at t: publish_at <= t and not removed (published, active, retiring). */
int srv_lc_in_jwks(const srv_version *v, int64_t t);
/* May decrypt at t: created_at <= t and not removed. */
int srv_lc_can_decrypt(const srv_version *v, int64_t t);
/* The version with this kid that may decrypt at t, or NULL. */
const srv_version *srv_lc_decrypt_kid(const srv_version *v, size_t n, const char *kid, int64_t t);
/* "pending", "published", "active", "retiring" or "removed" (a static string). */
const char *srv_lc_state(const srv_version *v, int64_t t);
/* Plans version n+1 created at `now`. CONFLICT while the latest is not yet active. */
srv_lc_result srv_lc_plan(const srv_version *v, size_t n, const srv_timing *tm, int64_t now,
                          srv_version_plan *out);
/* 1 when automatic rotation is due at t: rotation_period > 0, the key has a version, the
 * latest was created at least rotation_period ago and is active (none pending). A key with no
 * version is not "due": its first version is created deliberately (config, CLI). */
int srv_lc_rotation_due(const srv_version *v, size_t n, int64_t rotation_period, int64_t t);
/* 0 if the timings keep the promises above for replicas polling every `refresh` seconds and
 * a JWKS served with max-age `max_age`; else -1 and a message saying which to raise. */
int srv_lc_check_timing(const srv_timing *tm, int64_t refresh, int64_t max_age, char *msg,
                        size_t cap);

#endif
