/* store.c: the store's front: picks the backend by URL, serializes calls and checks a version
 * before any backend writes it. What the backends share lives below both, in store_schema.c. */
#include "server/store_backend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct srv_store_ops *const backends[] = {
#ifdef HWJ_WITH_SQLITE
    &srv_store_sqlite_ops,
#endif
#ifdef HWJ_WITH_POSTGRESQL
    &srv_store_pg_ops,
#endif
    NULL,
};

struct srv_store {
    const struct srv_store_ops *ops;
    void *be;
    pthread_mutex_t lock;
};

srv_store_status srv_store_open(const char *url, const char *app_name, srv_store **out, char *msg,
                                size_t cap)
{
    srv_store_status rc = SRV_STORE_ERROR;
    srv_store *st = NULL;
    const struct srv_store_ops *ops = NULL;
    for (size_t i = 0; backends[i]; i++)
        if (backends[i]->match(url))
            ops = backends[i];
    if (!ops) {
        char safe[512];
        srv_store_redact_url(url, safe, sizeof safe);
        size_t o = (size_t)snprintf(msg, cap,
                                    "store URL \"%s\" names no backend this build has: use "
                                    "sqlite:PATH or postgresql://... (this build has:",
                                    safe);
        for (size_t i = 0; backends[i] && o < cap; i++)
            o += (size_t)snprintf(msg + o, cap - o, " %s", backends[i]->name);
        if (o < cap)
            snprintf(msg + o, cap - o, ")");
        goto out;
    }
    if (!(st = calloc(1, sizeof *st))) {
        snprintf(msg, cap, "out of memory opening the store");
        goto out;
    }
    st->ops = ops;
    if ((rc = ops->open(url, app_name ? app_name : "hwjose", &st->be, msg, cap)) != SRV_STORE_OK)
        goto out;
    pthread_mutex_init(&st->lock, NULL);
    *out = st;
    st = NULL;
out:
    free(st);
    return rc;
}

void srv_store_close(srv_store *st)
{
    if (!st)
        return;
    st->ops->close(st->be);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

const char *srv_store_backend(const srv_store *st)
{
    return st->ops->name;
}

srv_store_status srv_store_generation(srv_store *st, int64_t *gen, char *msg, size_t cap)
{
    pthread_mutex_lock(&st->lock);
    srv_store_status rc = st->ops->generation(st->be, gen, msg, cap);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

srv_store_status srv_store_list(srv_store *st, const char *key_name, srv_version **out, size_t *n,
                                char *msg, size_t cap)
{
    pthread_mutex_lock(&st->lock);
    srv_store_status rc = st->ops->list(st->be, key_name, out, n, msg, cap);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

srv_store_status srv_store_check_version(const srv_version *nv, char *msg, size_t cap)
{
    const char *missing = !nv->key_name || !*nv->key_name ? "key_name"
                          : !nv->uri || !*nv->uri         ? "uri"
                          : !nv->kid || !*nv->kid         ? "kid"
                          : !nv->alg || !*nv->alg         ? "alg"
                          : !nv->jwk || !*nv->jwk         ? "jwk"
                          : !nv->created_by               ? "created_by"
                                                          : NULL;
    if (missing) {
        snprintf(msg, cap, "key version has no %s: every version needs one", missing);
        return SRV_STORE_ERROR;
    }
    if (!nv->origin || (strcmp(nv->origin, "generated") != 0 && strcmp(nv->origin, "imported"))) {
        snprintf(msg, cap,
                 "version %lld of key \"%s\": origin must be \"generated\" or "
                 "\"imported\"",
                 (long long)nv->version, nv->key_name);
        return SRV_STORE_ERROR;
    }
    /* The store is public: a PIN must come from a pin-source, never sit in the URI. */
    if (strcasestr(nv->uri, "pin-value")) { /* any letter case: the URI's own is */
        snprintf(msg, cap,
                 "version %lld of key \"%s\": the URI holds a pin-value; the store "
                 "never holds a PIN, use pin-source=file:...",
                 (long long)nv->version, nv->key_name);
        return SRV_STORE_ERROR;
    }
    if (nv->version < 1 || nv->publish_at < nv->created_at || nv->activate_at < nv->publish_at ||
        (nv->remove_at != 0 && nv->remove_at < nv->retire_at)) {
        snprintf(msg, cap,
                 "version %lld of key \"%s\": times out of order (need version >= 1 "
                 "and created_at <= publish_at <= activate_at, retire_at <= remove_at)",
                 (long long)nv->version, nv->key_name);
        return SRV_STORE_ERROR;
    }
    return SRV_STORE_OK;
}

srv_store_status srv_store_add(srv_store *st, const srv_version *nv, int64_t prev_retire_at,
                               int64_t prev_remove_at, char *msg, size_t cap)
{
    srv_store_status rc = srv_store_check_version(nv, msg, cap);
    if (rc != SRV_STORE_OK)
        return rc;
    pthread_mutex_lock(&st->lock);
    rc = st->ops->add(st->be, nv, prev_retire_at, prev_remove_at, msg, cap);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

srv_store_status srv_store_lease(srv_store *st, const char *name, const char *holder, int64_t ttl,
                                 int64_t now, int *won, char *msg, size_t cap)
{
    int64_t exp;
    if (ttl <= 0 || __builtin_add_overflow(now, ttl, &exp)) {
        snprintf(msg, cap, "lease \"%s\": the ttl must be positive and now + ttl must fit", name);
        return SRV_STORE_ERROR;
    }
    pthread_mutex_lock(&st->lock);
    srv_store_status rc = st->ops->lease(st->be, name, holder, exp, now, won, msg, cap);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

srv_store_status srv_store_lease_release(srv_store *st, const char *name, const char *holder,
                                         char *msg, size_t cap)
{
    pthread_mutex_lock(&st->lock);
    srv_store_status rc = st->ops->release(st->be, name, holder, msg, cap);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

srv_store_status srv_store_audit_checkpoint_seq(srv_store *st, const char *instance, int64_t *seq,
                                                char *msg, size_t cap)
{
    pthread_mutex_lock(&st->lock);
    srv_store_status rc = st->ops->checkpoint_seq(st->be, instance, seq, msg, cap);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

srv_store_status srv_store_audit_checkpoint(srv_store *st, const char *instance, int64_t seq,
                                            const char *jws, int64_t now, char *msg, size_t cap)
{
    pthread_mutex_lock(&st->lock);
    srv_store_status rc = st->ops->checkpoint(st->be, instance, seq, jws, now, msg, cap);
    pthread_mutex_unlock(&st->lock);
    return rc;
}
