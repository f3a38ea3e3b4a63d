/*
 * store.h: the shared state store of `hwjose serve` — key versions (public data and times,
 * never a PIN or a private byte), a change counter and leases — in SQLite (one node) or
 * PostgreSQL (a fleet). See docs/store.md.
 *
 * The store is never on the signing path: a background thread polls srv_store_generation and
 * re-reads the versions into a cache when it changed. A store object is used by one thread at
 * a time; calls are serialized by a mutex inside, so sharing one is safe but not concurrent.
 *
 * Every call fills `msg` (capacity `cap`) on failure with what failed and how to fix it; a
 * password in the store URL is never quoted. Outputs are written only on SRV_STORE_OK.
 */
#ifndef HWJ_SERVER_STORE_H
#define HWJ_SERVER_STORE_H

#include "server/lifecycle.h"

#include <stddef.h>
#include <stdint.h>

typedef enum srv_store_status {
    SRV_STORE_OK = 0,
    SRV_STORE_CONFLICT = 1,    /* another writer got there first; nothing changed */
    SRV_STORE_UNAVAILABLE = 2, /* server unreachable or busy: keep serving from the cache; the
                                  next call reconnects */
    SRV_STORE_ERROR = 3,       /* bad data, schema newer than this build, bad URL, ... */
} srv_store_status;

/* The schema version this build creates and understands. */
#define SRV_STORE_SCHEMA_VERSION 2

typedef struct srv_store srv_store;

/* Opens `url` — `sqlite:PATH` or a libpq URI `postgresql://...` / `postgres://...` — and applies
 * the schema migrations it lacks (serialized between processes). `app_name` names the
 * connection on the server (PostgreSQL application_name); NULL for "hwjose". */
srv_store_status srv_store_open(const char *url, const char *app_name, srv_store **out, char *msg,
                                size_t cap);
void srv_store_close(srv_store *st);
/* The backend's name ("sqlite", "postgresql"). */
const char *srv_store_backend(const srv_store *st);

/* The change counter: bumped in the same transaction as every change to the versions. */
srv_store_status srv_store_generation(srv_store *st, int64_t *gen, char *msg, size_t cap);

/* The versions of one key (or of all keys when key_name is NULL), ordered by key_name then
 * version; free with srv_versions_free. */
srv_store_status srv_store_list(srv_store *st, const char *key_name, srv_version **out, size_t *n,
                                char *msg, size_t cap);
void srv_versions_free(srv_version *v, size_t n);

/* Adds `nv` atomically: the caller believes the key's latest version is nv->version - 1 (0 =
 * none). In one transaction the predecessor (if any) gets prev_retire_at / prev_remove_at, nv
 * is inserted and the generation bumped. CONFLICT if the latest is not what the caller
 * believed; ERROR if nv->kid is already used (by any key) or a field is missing. */
srv_store_status srv_store_add(srv_store *st, const srv_version *nv, int64_t prev_retire_at,
                               int64_t prev_remove_at, char *msg, size_t cap);

/* Acquires or renews lease `name` for `holder` until now + ttl: *won = 1 when `holder` holds it
 * (it was free, expired, or already `holder`'s), else 0. Leases do not bump the generation:
 * they are not part of what replicas cache. */
srv_store_status srv_store_lease(srv_store *st, const char *name, const char *holder, int64_t ttl,
                                 int64_t now, int *won, char *msg, size_t cap);
/* Releases `name` if `holder` holds it (a no-op otherwise). */
srv_store_status srv_store_lease_release(srv_store *st, const char *name, const char *holder,
                                         char *msg, size_t cap);

/* Records `jws`, the audit checkpoint sealing `instance`'s chain up to `seq`, unless the store
 * already holds a later one for that instance (a replica's log never goes back). */
srv_store_status srv_store_audit_checkpoint(srv_store *st, const char *instance, int64_t seq,
                                            const char *jws, int64_t now, char *msg, size_t cap);

/* *seq = the seq the newest recorded checkpoint of `instance` seals, or -1 when there is none. */
srv_store_status srv_store_audit_checkpoint_seq(srv_store *st, const char *instance, int64_t *seq,
                                                char *msg, size_t cap);

/* Copies `url` into out with any userinfo password and `password=` value replaced by "***". */
void srv_store_redact_url(const char *url, char *out, size_t cap);

#endif
