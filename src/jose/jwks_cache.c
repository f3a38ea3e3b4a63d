/* jwks_cache.c: the remote JWKS cache's state and refetch policy (see jwks_cache.h).
 *
 * One mutex guards the state; a fetch runs outside it with `fetching` set, so other
 * threads keep using snapshots and only those that need the fetch's result wait on the
 * condition variable. Sets are immutable once published; a snapshot's reference count
 * keeps a replaced set alive until its last user lets go. */
#include "core/error.h"
#include "core/opts.h"
#include "jose/jwks_cache_internal.h"

#include <hwjose/jwks_cache.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct hwj_jwks_snapshot {
    atomic_uint refs;
    hwj_jwks *set;
};

struct hwj_jwks_cache {
    char *url;
    char *ca_file;
    hwj_jwks_cache_opts o; /* defaults applied; o.ca_file points at ca_file */
    jc_fetch_cfg fcfg;
    CURL *curl; /* used only by the thread that set `fetching` */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fetching;
    hwj_jwks_snapshot *snap; /* NULL until the first good fetch */
    char *etag;
    int64_t expires;
    int attempted;        /* a fetch has completed (good or bad) */
    int64_t last_attempt; /* when the last fetch completed */
    int last_ok;
    hwj_error last_err; /* why the last fetch failed */
    hwj_jwks_cache_stats st;
};

#define TEN_YEARS ((int64_t)10 * 366 * 86400) /* bounds durations: no overflow in now + ttl */

static int64_t cache_now(const hwj_jwks_cache *c)
{
    return c->o.clock ? c->o.clock(c->o.clock_arg) : (int64_t)time(NULL);
}

hwj_err jc_apply_defaults(const hwj_jwks_cache_opts *in, hwj_jwks_cache_opts *o, hwj_error *err)
{
    hwj_err rc;

    if ((rc = HWJ_OPTS_LOAD(*o, in, hwj_jwks_cache_opts, err)) != HWJ_OK)
        return rc;
    if (o->min_ttl < 0 || o->max_ttl < 0 || o->default_ttl < 0 || o->refetch_cooldown < 0 ||
        o->connect_timeout_ms < 0 || o->timeout_ms < 0)
        return hwj_error_set(err, HWJ_ERR_ARG, "JWKS cache options must not be negative");
    o->min_ttl = o->min_ttl ? o->min_ttl : 60;
    o->max_ttl = o->max_ttl ? o->max_ttl : 86400;
    o->default_ttl = o->default_ttl ? o->default_ttl : 600;
    o->refetch_cooldown = o->refetch_cooldown ? o->refetch_cooldown : 30;
    o->max_stale = o->max_stale == 0 ? 3600 : o->max_stale < 0 ? 0 : o->max_stale;
    o->max_size = o->max_size ? o->max_size : HWJ_JWKS_CACHE_DEFAULT_MAX_SIZE;
    o->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 5000;
    o->timeout_ms = o->timeout_ms ? o->timeout_ms : 10000;
    if (o->max_ttl > TEN_YEARS || o->default_ttl > TEN_YEARS || o->refetch_cooldown > TEN_YEARS ||
        o->max_stale > TEN_YEARS)
        return hwj_error_set(err, HWJ_ERR_ARG, "JWKS cache: durations are limited to ten years");
    if (o->min_ttl > o->max_ttl)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "JWKS cache: min_ttl (%" PRId64 " s) exceeds max_ttl (%" PRId64 " s)",
                             o->min_ttl, o->max_ttl);
    return HWJ_OK;
}

HWJ_EXPORT hwj_err hwj_jwks_cache_new(const char *url, const hwj_jwks_cache_opts *opts,
                                      hwj_jwks_cache **out, hwj_error *err)
{
    hwj_jwks_cache *c = NULL;
    int loopback = 0, mu = 0, cv = 0;
    hwj_err rc;

    hwj_error_reset(err);
    if (url == NULL || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwks_cache_new: missing argument");
    if ((rc = jc_global_init(err)) != HWJ_OK)
        return rc;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if ((rc = jc_apply_defaults(opts, &c->o, err)) != HWJ_OK ||
        (rc = jc_url_check(url, "jwks_uri", c->o.allow_http, &loopback, err)) != HWJ_OK)
        goto out;
    rc = HWJ_ERR_NOMEM;
    if ((c->url = strdup(url)) == NULL ||
        (c->o.ca_file != NULL && (c->ca_file = strdup(c->o.ca_file)) == NULL) ||
        (c->curl = curl_easy_init()) == NULL) {
        hwj_error_set(err, rc, "out of memory");
        goto out;
    }
    c->o.ca_file = c->ca_file;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        rc = hwj_error_set(err, HWJ_ERR_INTERNAL, "cannot create the JWKS cache's lock");
        goto out;
    }
    mu = 1;
    if (pthread_cond_init(&c->cv, NULL) != 0) {
        rc = hwj_error_set(err, HWJ_ERR_INTERNAL, "cannot create the JWKS cache's lock");
        goto out;
    }
    cv = 1;
    c->fcfg = (jc_fetch_cfg){.url = c->url,
                             .allow_plain_http = loopback || c->o.allow_http,
                             .loopback = loopback,
                             .max_size = c->o.max_size,
                             .connect_timeout_ms = c->o.connect_timeout_ms,
                             .timeout_ms = c->o.timeout_ms,
                             .ca_file = c->ca_file};
    rc = HWJ_OK;
out:
    if (rc != HWJ_OK) {
        if (cv)
            pthread_cond_destroy(&c->cv);
        if (mu)
            pthread_mutex_destroy(&c->mu);
        curl_easy_cleanup(c->curl);
        free(c->ca_file);
        free(c->url);
        free(c);
        return rc;
    }
    *out = c;
    return HWJ_OK;
}

HWJ_EXPORT void hwj_jwks_cache_free(hwj_jwks_cache *c)
{
    if (c == NULL)
        return;
    hwj_jwks_snapshot_free(c->snap);
    free(c->etag);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    curl_easy_cleanup(c->curl);
    free(c->ca_file);
    free(c->url);
    free(c);
}

HWJ_EXPORT const char *hwj_jwks_cache_get0_url(const hwj_jwks_cache *c)
{
    return c ? c->url : NULL;
}

HWJ_EXPORT const hwj_jwks *hwj_jwks_snapshot_get0_set(const hwj_jwks_snapshot *s)
{
    return s ? s->set : NULL;
}

HWJ_EXPORT hwj_jwks_snapshot *hwj_jwks_snapshot_up_ref(hwj_jwks_snapshot *s)
{
    if (s != NULL)
        atomic_fetch_add(&s->refs, 1);
    return s;
}

HWJ_EXPORT void hwj_jwks_snapshot_free(hwj_jwks_snapshot *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    hwj_jwks_free(s->set);
    free(s);
}

HWJ_EXPORT void hwj_jwks_cache_get_stats(hwj_jwks_cache *c, hwj_jwks_cache_stats *stats,
                                         size_t size)
{
    hwj_jwks_cache_stats st;

    if (c == NULL || stats == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    st = c->st;
    pthread_mutex_unlock(&c->mu);
    memcpy(stats, &st, size < sizeof(st) ? size : sizeof(st));
}

static int set_has_kid(const hwj_jwks *set, const char *const *kids, size_t nkids)
{
    for (size_t i = 0; i < hwj_jwks_count(set); i++) {
        const char *k = hwj_jwk_get0_kid(hwj_jwks_get0(set, i));
        for (size_t j = 0; k != NULL && j < nkids; j++)
            if (strcmp(k, kids[j]) == 0)
                return 1;
    }
    return 0;
}

static int64_t response_ttl(const hwj_jwks_cache *c, const jc_response *r)
{
    int64_t ttl = r->no_store ? c->o.min_ttl : r->max_age >= 0 ? r->max_age : c->o.default_ttl;
    return ttl < c->o.min_ttl ? c->o.min_ttl : ttl > c->o.max_ttl ? c->o.max_ttl : ttl;
}

/* A set published at a URL is public by definition: a symmetric or private key in it is
 * a leaked key that anyone could sign with (an "oct" key would turn HS* into no check at
 * all). Such a set is refused whole, like a malformed one. */
static hwj_err public_only(const hwj_jwks *set, hwj_error *err)
{
    for (size_t i = 0; i < hwj_jwks_count(set); i++) {
        const hwj_jwk *k = hwj_jwks_get0(set, i);
        if (hwj_jwk_is_private(k)) {
            const char *kid = hwj_jwk_get0_kid(k);
            return hwj_error_set(err, HWJ_ERR_POLICY,
                                 "key %zu%s%.64s%s is %s; a published JWK Set must hold public "
                                 "keys only",
                                 i + 1, kid ? " ('" : "", kid ? kid : "", kid ? "')" : "",
                                 hwj_jwk_get_kty(k) == HWJ_KTY_OCT ? "a symmetric (oct) key"
                                                                   : "a private key");
        }
    }
    return HWJ_OK;
}

/* Fetch and parse with the lock released; called and returning with it held. */
static void fetch_locked(hwj_jwks_cache *c)
{
    char *etag = NULL;
    jc_response r = {0};
    hwj_jwks_snapshot *snap = NULL;
    hwj_jwks *set = NULL;
    hwj_error ferr = {0};
    hwj_err rc = HWJ_OK;
    int64_t now;

    c->fetching = 1;
    c->st.requests++;
    if (c->snap != NULL && c->etag != NULL && (etag = strdup(c->etag)) == NULL)
        rc = hwj_error_set(&ferr, HWJ_ERR_NOMEM, "out of memory");
    pthread_mutex_unlock(&c->mu);

    if (rc == HWJ_OK)
        rc = jc_fetch(c->curl, &c->fcfg, etag, &r, &ferr);
    if (rc == HWJ_OK && r.status == 200) {
        if ((rc = hwj_jwks_parse(r.body, r.len, &set, &ferr)) != HWJ_OK ||
            (rc = public_only(set, &ferr)) != HWJ_OK)
            hwj_error_prefix(&ferr, "JWKS from '%s' rejected, keeping the previous set", c->url);
        else if ((snap = calloc(1, sizeof(*snap))) == NULL)
            rc = hwj_error_set(&ferr, HWJ_ERR_NOMEM, "out of memory");
        if (snap != NULL) {
            atomic_init(&snap->refs, 1);
            snap->set = set;
            set = NULL;
        }
    }

    pthread_mutex_lock(&c->mu);
    now = cache_now(c);
    c->fetching = 0;
    c->attempted = 1;
    c->last_attempt = now;
    c->last_ok = rc == HWJ_OK;
    if (rc != HWJ_OK) {
        c->st.failures++;
        c->last_err = ferr;
    } else {
        if (r.status == 200) {
            hwj_jwks_snapshot_free(c->snap);
            c->snap = snap;
            snap = NULL;
            c->st.updates++;
        } else {
            c->st.not_modified++;
        }
        if (r.status == 200 || r.etag != NULL) {
            free(c->etag);
            c->etag = r.etag;
            r.etag = NULL;
        }
        c->expires = now + response_ttl(c, &r);
        c->st.fetched_at = now;
        c->st.expires_at = c->expires;
    }
    pthread_cond_broadcast(&c->cv);
    hwj_jwks_snapshot_free(snap);
    hwj_jwks_free(set);
    jc_response_clear(&r);
    free(etag);
}

/* May an automatic fetch start now? Right after a good fetch only once the set expired;
 * otherwise (unknown kid, or retrying a failure) once per cooldown. */
static int fetch_allowed(const hwj_jwks_cache *c, int64_t now, int expired)
{
    if (!c->attempted || (expired && c->last_ok))
        return 1;
    return now - c->last_attempt >= c->o.refetch_cooldown;
}

/* With the lock held: the current snapshot if it is usable, else the reason. */
static hwj_err usable_locked(hwj_jwks_cache *c, hwj_jwks_snapshot **out, hwj_error *err)
{
    int64_t now = cache_now(c);

    if (c->snap == NULL) {
        if (c->attempted) {
            if (err != NULL)
                *err = c->last_err;
            return c->last_err.code ? c->last_err.code : HWJ_ERR_NETWORK;
        }
        return hwj_error_set(err, HWJ_ERR_NETWORK, "no JWKS from '%s' yet", c->url);
    }
    if (now >= c->expires) {
        if (now - c->expires >= c->o.max_stale) {
            hwj_error e = c->last_err;
            return hwj_error_set_native(err, e.code ? e.code : HWJ_ERR_NETWORK, e.source, e.native,
                                        "the JWKS from '%s' expired %" PRId64
                                        " s ago (serving a stale set is allowed "
                                        "for %" PRId64 " s) and refreshing it failed: %s",
                                        c->url, now - c->expires, c->o.max_stale, e.message);
        }
        c->st.stale_serves++;
    }
    *out = hwj_jwks_snapshot_up_ref(c->snap);
    return HWJ_OK;
}

/* With the lock held: should this lookup fetch? Counts the unknown-kid decisions. */
static int wants_fetch_locked(hwj_jwks_cache *c, const char *const *kids, size_t nkids,
                              jc_mode mode, int *unknown_kid)
{
    int64_t now = cache_now(c);

    *unknown_kid = 0;
    if (c->snap == NULL || now >= c->expires)
        return fetch_allowed(c, now, 1);
    if (mode != JC_MISSING && (nkids == 0 || set_has_kid(c->snap->set, kids, nkids)))
        return 0;
    if (!fetch_allowed(c, now, 0)) {
        c->st.cooldown_skips++;
        return 0;
    }
    *unknown_kid = 1;
    return 1;
}

hwj_err jc_acquire(hwj_jwks_cache *c, const char *const *kids, size_t nkids, jc_mode mode,
                   hwj_jwks_snapshot **out, hwj_error *err)
{
    int unknown_kid;
    hwj_err rc;

    pthread_mutex_lock(&c->mu);
    /* Only lookups that need a fetch wait for one in flight; then they decide again
     * (normally finding the fresh set, or the cooldown just restarted). */
    while (wants_fetch_locked(c, kids, nkids, mode, &unknown_kid)) {
        if (c->fetching) {
            pthread_cond_wait(&c->cv, &c->mu);
            continue;
        }
        if (unknown_kid)
            c->st.unknown_kid_fetches++;
        fetch_locked(c);
        break;
    }
    rc = usable_locked(c, out, err);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

HWJ_EXPORT hwj_err hwj_jwks_cache_get1(hwj_jwks_cache *c, const char *kid, hwj_jwks_snapshot **out,
                                       hwj_error *err)
{
    hwj_error_reset(err);
    if (c == NULL || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwks_cache_get1: missing argument");
    return jc_acquire(c, &kid, kid != NULL, JC_NORMAL, out, err);
}

HWJ_EXPORT hwj_err hwj_jwks_cache_refresh(hwj_jwks_cache *c, hwj_error *err)
{
    hwj_err rc = HWJ_OK;

    hwj_error_reset(err);
    if (c == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwks_cache_refresh: missing argument");
    pthread_mutex_lock(&c->mu);
    while (c->fetching)
        pthread_cond_wait(&c->cv, &c->mu);
    fetch_locked(c);
    if (!c->last_ok) {
        if (err != NULL)
            *err = c->last_err;
        rc = c->last_err.code ? c->last_err.code : HWJ_ERR_NETWORK;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}
