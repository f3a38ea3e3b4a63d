/*
 * store_backend.h: the contract between store.c and a store backend (store_sqlite.c,
 * store_pg.c). A backend is one `static const struct srv_store_ops`, listed in store.c's
 * static array under its HWJ_WITH_* macro (no constructors, so static linking works).
 * store.c holds the mutex; a backend is called by one thread at a time.
 */
#ifndef HWJ_SERVER_STORE_BACKEND_H
#define HWJ_SERVER_STORE_BACKEND_H

#include "server/store.h"

/* Schema migrations (store_schema.c), shared by the backends (SQL both dialects accept):
 * migration i brings the schema to version i + 1. Append only; never edit one that has shipped. */
extern const char *const srv_store_migrations[];
extern const size_t srv_store_nmigrations;

struct srv_store_ops {
    const char *name;
    /* 1 if this backend serves `url` (by scheme). */
    int (*match)(const char *url);
    srv_store_status (*open)(const char *url, const char *app_name, void **be, char *msg,
                             size_t cap);
    void (*close)(void *be);
    srv_store_status (*generation)(void *be, int64_t *gen, char *msg, size_t cap);
    srv_store_status (*list)(void *be, const char *key_name, srv_version **out, size_t *n,
                             char *msg, size_t cap);
    srv_store_status (*add)(void *be, const srv_version *nv, int64_t prev_retire_at,
                            int64_t prev_remove_at, char *msg, size_t cap);
    srv_store_status (*lease)(void *be, const char *name, const char *holder, int64_t expires_at,
                              int64_t now, int *won, char *msg, size_t cap);
    srv_store_status (*release)(void *be, const char *name, const char *holder, char *msg,
                                size_t cap);
    srv_store_status (*checkpoint)(void *be, const char *instance, int64_t seq, const char *jws,
                                   int64_t now, char *msg, size_t cap);
    srv_store_status (*checkpoint_seq)(void *be, const char *instance, int64_t *seq, char *msg,
                                       size_t cap);
};

#ifdef HWJ_WITH_SQLITE
extern const struct srv_store_ops srv_store_sqlite_ops;
#endif
#ifdef HWJ_WITH_POSTGRESQL
extern const struct srv_store_ops srv_store_pg_ops;
#endif

/* Checks nv's fields before any backend writes it; SRV_STORE_ERROR with a message if bad. */
srv_store_status srv_store_check_version(const srv_version *nv, char *msg, size_t cap);

#endif
