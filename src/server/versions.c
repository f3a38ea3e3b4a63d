/* versions.c: the state store behind the running state. Key versions are read from the store
 * into an immutable srv_state (reload.c builds it, requests hold references), never on the
 * signing path: one thread polls the store's change counter every store_refresh seconds and
 * rebuilds only when it moved. The same thread creates a key's first version and runs
 * automatic rotation; rotation (here, the route and the CLI alike) happens under a lease in the
 * store, so that exactly one replica generates each version.
 *
 *   store ──poll generation──► changed? ──list──► srv_state_build ──install──► requests
 *     ▲                                                                          │
 *     └──── srv_rotate: lease, plan (lifecycle.c), generate in the token, add ◄──┘ POST …/rotate
 *
 * While the store is unreachable the current state keeps serving (its times are absolute, so
 * versions still activate and retire on schedule); only rotation waits. */
#include "server/log.h"
#include "server/server.h"
#include "server/store.h"

#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LEASE_SECONDS 120

static srv_store *g_store;
static hwj_ctx *g_ctx;
static pthread_mutex_t g_build = PTHREAD_MUTEX_INITIALIZER; /* one state build at a time */
static atomic_int g_store_ok;
static _Atomic int64_t g_generation;
static pthread_t g_thread;
static int g_running;
static pthread_mutex_t g_stop_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_stop_cv = PTHREAD_COND_INITIALIZER;
static int g_stop;
static char g_build_error[512]; /* the refresher's last build failure, said once */

static int64_t now_s(void)
{
    return srv_unix_now();
}

/* "{name}" and "{version}" expanded in a URI template. */
static char *expand(const char *tmpl, const char *name, int64_t version)
{
    char ver[24];
    size_t n = strlen(tmpl) + 1,
           vlen = (size_t)snprintf(ver, sizeof(ver), "%lld", (long long)version);
    for (const char *p = strchr(tmpl, '{'); p; p = strchr(p + 1, '{'))
        n += strlen(name) + vlen;
    char *out = malloc(n), *o = out;
    if (!out)
        return NULL;
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "{name}", 6) == 0) {
            o += sprintf(o, "%s", name);
            p += 6;
        } else if (strncmp(p, "{version}", 9) == 0) {
            o += sprintf(o, "%s", ver);
            p += 9;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* The key a new version will be: generated inside the token (an object an interrupted rotation
 * left under the same name is adopted: it was generated for this very version), or imported. */
static srv_rotate_result open_source(hwj_ctx *ctx, const srv_key_conf *kc, const char *uri,
                                     int generate, hwj_key **key, char *msg, size_t msglen)
{
    hwj_error err = {0};
    hwj_keygen_opts go = {.size = sizeof(hwj_keygen_opts), .alg = kc->alg};
    if (generate && hwj_key_generate(ctx, uri, &go, key, &err) == HWJ_OK)
        return SRV_ROTATE_OK;
    if (hwj_key_open(ctx, uri, NULL, key, generate ? NULL : &err) == HWJ_OK) {
        if (hwj_key_can(*key, kc->alg))
            return SRV_ROTATE_OK;
        const char *u = hwj_key_get0_uri(*key); /* shown without its query */
        snprintf(msg, msglen, "key '%s': the key at '%.*s' cannot perform %s", kc->name,
                 (int)strcspn(u, "?"), u, hwj_alg_name(kc->alg));
        hwj_key_free(*key);
        *key = NULL;
        return SRV_ROTATE_BAD;
    }
    snprintf(msg, msglen, "key '%s': %s", kc->name, err.message);
    return generate ? SRV_ROTATE_FAILED : SRV_ROTATE_BAD;
}

static srv_rotate_result from_store(srv_store_status s)
{
    return s == SRV_STORE_OK            ? SRV_ROTATE_OK
           : s == SRV_STORE_UNAVAILABLE ? SRV_ROTATE_UNAVAILABLE
           : s == SRV_STORE_CONFLICT    ? SRV_ROTATE_BUSY
                                        : SRV_ROTATE_FAILED;
}

/* Under the lease: plan, make the key, record it. */
static srv_rotate_result rotate_locked(srv_store *store, hwj_ctx *ctx, const srv_config *cfg,
                                       const srv_key_conf *kc, const char *uri, int64_t now,
                                       srv_version **out, char *msg, size_t msglen)
{
    srv_version *v = NULL, *nv = NULL;
    size_t n = 0;
    hwj_key *key = NULL;
    char *src = NULL, *jwk = NULL;
    hwj_error err = {0};
    srv_version_plan plan;
    srv_rotate_result rc = from_store(srv_store_list(store, kc->name, &v, &n, msg, msglen));
    if (rc != SRV_ROTATE_OK)
        goto out;
    srv_timing tm = srv_key_timing(cfg, kc);
    srv_lc_result lc = srv_lc_plan(v, n, &tm, now, &plan);
    if (lc != SRV_LC_OK) {
        snprintf(msg, msglen,
                 lc == SRV_LC_CONFLICT
                     ? "key '%s': version %lld is not active yet; rotate again after it activates"
                     : "key '%s': its versions' times are out of order (version %lld)",
                 kc->name, n ? (long long)v[n - 1].version : 0LL);
        rc = lc == SRV_LC_CONFLICT ? SRV_ROTATE_PENDING : SRV_ROTATE_FAILED;
        goto out;
    }
    int generate = 0;
    if (uri)
        src = strdup(uri);
    else if (n == 0 && kc->uri)
        src = strdup(kc->uri);
    else if (kc->generate && (generate = 1))
        src = expand(kc->generate, kc->name, plan.version);
    else {
        snprintf(msg, msglen,
                 "key '%s' has no \"generate\" in the config: give the new version's uri",
                 kc->name);
        rc = SRV_ROTATE_BAD;
        goto out;
    }
    if (!src) {
        snprintf(msg, msglen, "out of memory");
        rc = SRV_ROTATE_FAILED;
        goto out;
    }
    if ((rc = open_source(ctx, kc, src, generate, &key, msg, msglen)) != SRV_ROTATE_OK)
        goto out;
    if (hwj_key_public_jwk(key, &jwk, &err) != HWJ_OK) {
        snprintf(msg, msglen, "key '%s': public JWK: %s", kc->name, err.message);
        rc = SRV_ROTATE_FAILED;
        goto out;
    }
    if (!(nv = calloc(1, sizeof(*nv))) || !(nv->key_name = strdup(kc->name)) ||
        !(nv->uri = strdup(src)) || !(nv->kid = strdup(hwj_key_get0_kid(key))) ||
        !(nv->alg = strdup(hwj_alg_name(kc->alg))) || !(nv->jwk = strdup(jwk)) ||
        !(nv->origin = strdup(generate ? "generated" : "imported")) ||
        !(nv->created_by = strdup(cfg->instance))) {
        snprintf(msg, msglen, "out of memory");
        rc = SRV_ROTATE_FAILED;
        goto out;
    }
    nv->version = plan.version;
    nv->created_at = plan.created_at;
    nv->publish_at = plan.publish_at;
    nv->activate_at = plan.activate_at;
    srv_store_status s =
        srv_store_add(store, nv, plan.prev_retire_at, plan.prev_remove_at, msg, msglen);
    if ((rc = from_store(s)) != SRV_ROTATE_OK)
        goto out;
    *out = nv;
    nv = NULL;
out:
    srv_versions_free(nv, nv ? 1 : 0);
    hwj_free(jwk);
    hwj_key_free(key);
    free(src);
    srv_versions_free(v, n);
    return rc;
}

srv_rotate_result srv_rotate_in(srv_store *store, hwj_ctx *ctx, const srv_config *cfg,
                                const srv_key_conf *kc, const char *uri, int64_t now,
                                srv_version **out, char *msg, size_t msglen)
{
    char lease[160], holder[320];
    unsigned char rnd[8];
    int won = 0;
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        memset(rnd, 0, sizeof(rnd));
    snprintf(lease, sizeof(lease), "rotate:%s", kc->name);
    snprintf(holder, sizeof(holder), "%s/%ld/%02x%02x%02x%02x%02x%02x%02x%02x", cfg->instance,
             (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    srv_rotate_result rc =
        from_store(srv_store_lease(store, lease, holder, LEASE_SECONDS, now, &won, msg, msglen));
    if (rc != SRV_ROTATE_OK)
        return rc;
    if (!won) {
        snprintf(msg, msglen, "key '%s': another replica is rotating it; try again shortly",
                 kc->name);
        return SRV_ROTATE_BUSY;
    }
    rc = rotate_locked(store, ctx, cfg, kc, uri, now, out, msg, msglen);
    char ignored[256];
    (void)srv_store_lease_release(store, lease, holder, ignored, sizeof(ignored));
    return rc;
}

srv_rotate_result srv_rotate(const srv_config *cfg, const srv_key_conf *kc, const char *uri,
                             int64_t now, srv_version **out, char *msg, size_t msglen)
{
    return srv_rotate_in(g_store, g_ctx, cfg, kc, uri, now, out, msg, msglen);
}

/* Create the first version of every key of `cfg` that has none in versions[0..n). */
static int bootstrap(srv_config *cfg, const srv_version *v, size_t n, char *msg, size_t msglen)
{
    for (size_t i = 0; i < cfg->nkeys; i++) {
        const srv_key_conf *kc = &cfg->keys[i];
        size_t j = 0;
        while (j < n && strcmp(v[j].key_name, kc->name) != 0)
            j++;
        if (j < n)
            continue;
        srv_version *nv = NULL;
        srv_rotate_result rc = srv_rotate(cfg, kc, NULL, now_s(), &nv, msg, msglen);
        if (rc == SRV_ROTATE_OK)
            srv_log(SRV_LOG_NOTICE, NULL, "key '%s': version 1 (%s, kid %s) created", kc->name,
                    nv->origin, nv->kid);
        srv_versions_free(nv, nv ? 1 : 0);
        /* Another replica creating it at the same moment is fine: the next list has it. */
        if (rc != SRV_ROTATE_OK && rc != SRV_ROTATE_BUSY && rc != SRV_ROTATE_PENDING)
            return -1;
    }
    return 0;
}

/* Read every version and install a state of `cfg` (referenced by the caller). g_build held. */
static int rebuild(srv_config *cfg, int first, char *msg, size_t msglen)
{
    srv_version *v = NULL;
    size_t n = 0;
    int64_t gen = 0;
    srv_state *st = NULL, *prev = NULL;
    int rc = -1;
    if (srv_store_generation(g_store, &gen, msg, msglen) != SRV_STORE_OK ||
        srv_store_list(g_store, NULL, &v, &n, msg, msglen) != SRV_STORE_OK)
        goto out;
    if (first) {
        if (bootstrap(cfg, v, n, msg, msglen) != 0)
            goto out;
        srv_versions_free(v, n);
        v = NULL;
        n = 0;
        if (srv_store_generation(g_store, &gen, msg, msglen) != SRV_STORE_OK ||
            srv_store_list(g_store, NULL, &v, &n, msg, msglen) != SRV_STORE_OK)
            goto out;
    }
    prev = srv_state_acquire();
    if (srv_state_build(g_ctx, cfg, v, n, gen, prev, &st, msg, msglen) != 0)
        goto out;
    v = NULL; /* the state owns them */
    srv_state_install(st);
    atomic_store(&g_generation, gen);
    rc = 0;
out:
    srv_state_release(prev);
    srv_versions_free(v, n);
    return rc;
}

int srv_versions_install(srv_config *cfg, char *msg, size_t msglen)
{
    pthread_mutex_lock(&g_build);
    int rc = rebuild(cfg, 1, msg, msglen);
    pthread_mutex_unlock(&g_build);
    if (rc != 0)
        srv_config_free(cfg);
    return rc;
}

int srv_versions_start(hwj_ctx *ctx, srv_config *cfg, char *msg, size_t msglen)
{
    g_ctx = ctx;
    if (srv_store_open(cfg->store_url, "hwjose serve", &g_store, msg, msglen) != SRV_STORE_OK) {
        srv_config_free(cfg);
        return -1;
    }
    atomic_store(&g_store_ok, 1);
    return srv_versions_install(cfg, msg, msglen);
}

int srv_versions_refresh(char *msg, size_t msglen)
{
    int64_t gen = 0;
    int rc = 0;
    pthread_mutex_lock(&g_build);
    if (srv_store_generation(g_store, &gen, msg, msglen) != SRV_STORE_OK) {
        rc = -1;
    } else if (gen != atomic_load(&g_generation)) {
        srv_state *cur = srv_state_acquire();
        srv_config *cfg = srv_config_ref(cur->cfg);
        srv_state_release(cur);
        if (rebuild(cfg, 0, msg, msglen) != 0) {
            srv_config_free(cfg);
            rc = -2; /* the store answered; a new version's key did not open (tried again) */
        }
    }
    pthread_mutex_unlock(&g_build);
    return rc;
}

int srv_versions_store_ok(int64_t *generation)
{
    *generation = atomic_load(&g_generation);
    return atomic_load(&g_store_ok);
}

/* Automatic rotation of every key that is due (lifecycle.c), under the lease. */
static void rotate_due(void)
{
    srv_state *st = srv_state_acquire();
    int64_t now = now_s();
    for (size_t i = 0; st && i < st->nkeys; i++) {
        const srv_key_conf *kc = st->keys[i].conf;
        size_t first = 0, n = 0;
        while (first < st->nversions && strcmp(st->versions[first].key_name, kc->name) != 0)
            first++;
        while (first + n < st->nversions && strcmp(st->versions[first + n].key_name, kc->name) == 0)
            n++;
        if (!srv_lc_rotation_due(st->versions + first, n, kc->rotation_period, now))
            continue;
        char msg[512];
        srv_version *nv = NULL;
        srv_rotate_result rc = srv_rotate(st->cfg, kc, NULL, now, &nv, msg, sizeof(msg));
        if (rc == SRV_ROTATE_OK)
            srv_log(SRV_LOG_NOTICE, NULL, "key '%s': rotated to version %lld (kid %s)", kc->name,
                    (long long)nv->version, nv->kid);
        else if (rc != SRV_ROTATE_BUSY && rc != SRV_ROTATE_PENDING)
            srv_log(SRV_LOG_ERR, NULL, "key '%s': automatic rotation failed: %s", kc->name, msg);
        srv_versions_free(nv, nv ? 1 : 0);
    }
    srv_state_release(st);
}

static void *refresher(void *arg)
{
    (void)arg;
    for (;;) {
        srv_state *st = srv_state_acquire();
        int64_t wait = st ? st->cfg->store_refresh : 5;
        srv_state_release(st);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += wait;
        pthread_mutex_lock(&g_stop_mu);
        while (!g_stop && pthread_cond_timedwait(&g_stop_cv, &g_stop_mu, &until) != ETIMEDOUT)
            ;
        int stop = g_stop;
        pthread_mutex_unlock(&g_stop_mu);
        if (stop)
            return NULL;
        char msg[512];
        int rc = srv_versions_refresh(msg, sizeof(msg)), ok = rc != -1;
        /* Said once per outage and once on recovery, not on every poll. */
        if (ok != atomic_exchange(&g_store_ok, ok)) {
            if (ok)
                srv_log(SRV_LOG_NOTICE, NULL, "the state store is reachable again");
            else
                srv_log(SRV_LOG_ERR, NULL,
                        "the state store is unreachable (serving from the cache; rotation "
                        "waits): %s",
                        msg);
        }
        if (rc == -2 && strcmp(msg, g_build_error) != 0)
            srv_log(SRV_LOG_ERR, NULL,
                    "new key versions cannot be used yet (still serving the current ones; "
                    "retried every poll): %s",
                    msg);
        snprintf(g_build_error, sizeof(g_build_error), "%s", rc == -2 ? msg : "");
        if (rc == 0)
            rotate_due();
    }
}

uint64_t srv_versions_token_reinits(void)
{
    return g_ctx ? hwj_ctx_get_token_reinits(g_ctx) : 0;
}

int srv_versions_run(void)
{
    g_stop = 0;
    if (pthread_create(&g_thread, NULL, refresher, NULL) != 0)
        return -1;
    g_running = 1;
    return 0;
}

void srv_versions_stop(void)
{
    if (g_running) {
        pthread_mutex_lock(&g_stop_mu);
        g_stop = 1;
        pthread_cond_signal(&g_stop_cv);
        pthread_mutex_unlock(&g_stop_mu);
        pthread_join(g_thread, NULL);
        g_running = 0;
    }
    srv_store_close(g_store);
    g_store = NULL;
}

/* SIGHUP: what in a new config only a restart can change (the listening socket, the worker
 * threads, the scheme, the audit log, the store), compared with the running one. */
int srv_reload_check(const srv_config *cfg, char *msg, size_t msglen)
{
    srv_state *prev = srv_state_acquire();
    int rc = -1;
    if (!prev)
        return 0;
    if (strcmp(prev->cfg->listen_host, cfg->listen_host) != 0 || prev->cfg->port != cfg->port)
        snprintf(msg, msglen, "config listen: changing the address needs a restart");
    else if (prev->cfg->workers != cfg->workers)
        snprintf(msg, msglen, "config workers: changing the worker count needs a restart");
    else if (!!prev->cfg->tls_cert != !!cfg->tls_cert)
        snprintf(msg, msglen, "config tls: switching between HTTP and HTTPS needs a restart");
    else if (srv_audit_config_changed(prev->cfg, cfg, msg, msglen))
        ; /* msg says which audit setting */
    else if (strcmp(prev->cfg->store_url, cfg->store_url) != 0)
        snprintf(msg, msglen, "config store: changing the state store needs a restart");
    else
        rc = 0;
    srv_state_release(prev);
    return rc;
}
