/*
 * jwks_cache.h: the receiver side. A remote JWK Set (an issuer's jwks_uri) fetched over
 * HTTPS with libcurl, cached, and used to verify JWS/JWT by kid.
 *
 * Fetching:
 *  - https only; plain http only to a loopback host (localhost, 127.0.0.0/8, ::1) unless
 *    opts.allow_http. No other scheme. Redirects are never followed (a 3xx is a failed
 *    fetch): configure the final jwks_uri. No compression is requested.
 *  - The body is bounded (opts.max_size); a larger one aborts the transfer. Connect and
 *    total timeouts bound every fetch. TLS peers and host names are always verified.
 *  - Cache-Control max-age (minus Age) sets the lifetime, clamped to [min_ttl, max_ttl];
 *    no max-age means default_ttl; no-store / no-cache mean min_ttl (the set is still
 *    needed to verify, and refetching per token would hammer the issuer).
 *  - The ETag is sent back as If-None-Match; a 304 keeps the set and renews its lifetime.
 *  - A new set replaces the old one only when it parses completely (hwj_jwks_parse);
 *    a malformed, oversize or non-200/304 answer is a failed fetch and the old set stays.
 *
 * Refetching:
 *  - When the set expires, the next use fetches it (conditionally, with the ETag).
 *  - A token naming a kid the set lacks triggers one refetch, but at most one fetch per
 *    opts.refetch_cooldown since the previous attempt: a flood of random kids costs the
 *    issuer at most one request per cooldown.
 *  - After a failed fetch, the next automatic attempt waits for the cooldown too.
 *  - While fetches fail, the last good set is served until it has been expired for
 *    opts.max_stale; after that (or when no set was ever fetched) calls fail with the
 *    last fetch's error, which names the URL and the curl / HTTP / parse failure.
 *
 * Threads: one cache may be shared by any number of threads. One fetch runs at a time;
 * other threads wanting a fetch wait for it and then use its result. Verification runs
 * on a reference-counted, immutable snapshot of the set, outside the cache's lock:
 * keys are never copied and a concurrent refresh never frees a set in use.
 *
 * The cache never fetches in hwj_jwks_cache_new: the first use (or
 * hwj_jwks_cache_refresh) does.
 */
#ifndef HWJOSE_JWKS_CACHE_H
#define HWJOSE_JWKS_CACHE_H

#include <hwjose/common.h>
#include <hwjose/jwk.h>
#include <hwjose/jws.h>
#include <hwjose/jwt.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hwj_jwks_cache hwj_jwks_cache;
/* An immutable, reference-counted JWK Set handed out by the cache. */
typedef struct hwj_jwks_snapshot hwj_jwks_snapshot;

#define HWJ_JWKS_CACHE_DEFAULT_MAX_SIZE (512u * 1024u)

typedef struct hwj_jwks_cache_opts {
    size_t size;              /* sizeof: set by HWJ_JWKS_CACHE_OPTS_INIT (see common.h) */
    int allow_http;           /* allow plain http to hosts that are not loopback */
    int64_t min_ttl;          /* seconds; 0: 60. Floor on the lifetime of a fetched set */
    int64_t max_ttl;          /* seconds; 0: 86400. Ceiling on it */
    int64_t default_ttl;      /* seconds; 0: 600. Lifetime without Cache-Control max-age */
    int64_t refetch_cooldown; /* seconds; 0: 30. Min gap before an unknown-kid or retry fetch */
    int64_t max_stale;        /* seconds; 0: 3600, < 0: none. Serve an expired set this long */
    size_t max_size;          /* bytes; 0: HWJ_JWKS_CACHE_DEFAULT_MAX_SIZE */
    long connect_timeout_ms;  /* 0: 5000 */
    long timeout_ms;          /* 0: 10000; the whole transfer */
    const char *ca_file;      /* PEM CA bundle for https; NULL: the system's */
    hwj_clock_fn clock;       /* NULL: time(); tests inject their own */
    void *clock_arg;
} hwj_jwks_cache_opts;
#define HWJ_JWKS_CACHE_OPTS_INIT                                                                   \
    {                                                                                              \
        .size = sizeof(hwj_jwks_cache_opts)                                                        \
    }

/* What the cache has done; for metrics and tests. Read with hwj_jwks_cache_get_stats. */
typedef struct hwj_jwks_cache_stats {
    uint64_t requests;            /* HTTP requests sent (every fetch attempt) */
    uint64_t updates;             /* 200 answers accepted: a new set */
    uint64_t not_modified;        /* 304 answers: set kept, lifetime renewed */
    uint64_t failures;            /* failed fetches: network, HTTP status, size, parse */
    uint64_t unknown_kid_fetches; /* fetches caused by a kid the set lacked */
    uint64_t cooldown_skips;      /* unknown kids not refetched because of the cooldown */
    uint64_t stale_serves;        /* uses of an expired set because refreshing failed */
    int64_t fetched_at;           /* clock time of the last 200/304; 0: never */
    int64_t expires_at;           /* the current set is fresh until then; 0: no set */
} hwj_jwks_cache_stats;

/* A cache for the JWKS at `url`. The URL is checked here (scheme, host), nothing is fetched.
 * A refused URL is HWJ_ERR_POLICY saying why. `opts` may be NULL; it is copied. */
HWJ_EXPORT hwj_err hwj_jwks_cache_new(const char *url, const hwj_jwks_cache_opts *opts,
                                      hwj_jwks_cache **out, hwj_error *err);
/*
 * A cache for an issuer's JWKS found by OpenID Connect Discovery 1.0: GET
 * ISSUER/.well-known/openid-configuration (a terminating '/' of ISSUER removed first), whose
 * "issuer" member must equal `issuer` exactly and whose "jwks_uri" names the set; then as
 * hwj_jwks_cache_new(jwks_uri). Both URLs follow the rules above (https, or http to loopback
 * unless opts.allow_http; no redirects; no credentials); the document is at most 64 KiB. This
 * fetches once, now; the jwks_uri is not rediscovered later. An issuer mismatch is
 * HWJ_ERR_POLICY, a failed fetch HWJ_ERR_NETWORK, a malformed document HWJ_ERR_PARSE.
 */
HWJ_EXPORT hwj_err hwj_jwks_cache_discover(const char *issuer, const hwj_jwks_cache_opts *opts,
                                           hwj_jwks_cache **out, hwj_error *err);
/* Free the cache. Snapshots still held stay valid until released. Accepts NULL. */
HWJ_EXPORT void hwj_jwks_cache_free(hwj_jwks_cache *cache);

/* The URL the cache fetches. Borrowed. */
HWJ_EXPORT const char *hwj_jwks_cache_get0_url(const hwj_jwks_cache *cache);

/* Fetch now (conditionally, with the ETag), whatever the lifetime and the cooldown.
 * On failure the cached set, if any, is kept and the error returned. */
HWJ_EXPORT hwj_err hwj_jwks_cache_refresh(hwj_jwks_cache *cache, hwj_error *err);

/*
 * A usable set: fetched if there is none yet or it expired; refetched once (cooldown
 * permitting) when `kid` is not NULL and no key in it has that kid. The set may still
 * lack `kid` (the issuer does not publish it, or the cooldown holds): the caller's key
 * selection reports that. Release with hwj_jwks_snapshot_free.
 */
HWJ_EXPORT hwj_err hwj_jwks_cache_get1(hwj_jwks_cache *cache, const char *kid,
                                       hwj_jwks_snapshot **out, hwj_error *err);

/* The set inside a snapshot. Borrowed: valid while the snapshot is held. */
HWJ_EXPORT const hwj_jwks *hwj_jwks_snapshot_get0_set(const hwj_jwks_snapshot *snap);
/* Take another reference. */
HWJ_EXPORT hwj_jwks_snapshot *hwj_jwks_snapshot_up_ref(hwj_jwks_snapshot *snap);
/* Drop a reference. Accepts NULL. */
HWJ_EXPORT void hwj_jwks_snapshot_free(hwj_jwks_snapshot *snap);

/*
 * hwj_jws_verify with the key chosen from the cached set by the JWS's kid (refetching
 * on an unknown kid as above). `policy` is required, as for hwj_jws_verify.
 * `(*out)->key` is borrowed from the set: pass `keys_out` to receive (and later release)
 * a reference to that set; with `keys_out` NULL, `(*out)->key` is set to NULL.
 */
HWJ_EXPORT hwj_err hwj_jwks_cache_verify_jws(hwj_jwks_cache *cache, const char *jws, size_t len,
                                             const hwj_verify_policy *policy,
                                             const uint8_t *detached, size_t detached_len,
                                             hwj_jws_result **out, hwj_jwks_snapshot **keys_out,
                                             hwj_error *err) HWJ_WARN_UNUSED;

/* hwj_jwt_verify with the key chosen from the cached set by the JWT's kid. */
HWJ_EXPORT hwj_err hwj_jwks_cache_verify_jwt(hwj_jwks_cache *cache, const char *jwt, size_t len,
                                             const hwj_jwt_verify_opts *opts, char **claims_json,
                                             hwj_error *err) HWJ_WARN_UNUSED;

/* Copy the counters into `*stats`; `size` is sizeof(*stats) as the caller knows it. */
HWJ_EXPORT void hwj_jwks_cache_get_stats(hwj_jwks_cache *cache, hwj_jwks_cache_stats *stats,
                                         size_t size);

#ifdef __cplusplus
}
#endif
#endif
