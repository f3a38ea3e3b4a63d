/* reload.c: the running state and its atomic replacement on SIGHUP.
 *
 * A state is built completely (config parsed, every key opened and checked against
 * its alg) before it replaces the current one; any failure leaves the old state
 * serving. Requests hold a reference to the state they started with, so a reload
 * never pulls a key out from under an operation in flight. Keys whose URI did not
 * change are carried over open (no new login). */
#include "server/server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t cur_lock = PTHREAD_MUTEX_INITIALIZER;
static srv_state *cur;

static void keyref_release(srv_keyref *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    hwj_key_free(r->key);
    hwj_free(r->jwk_json);
    free(r->uri);
    free(r);
}

static void state_free(srv_state *st)
{
    for (size_t i = 0; i < st->nkeys; i++)
        keyref_release(st->keys[i].ref);
    free(st->keys);
    srv_config_free(st->cfg);
    free(st);
}

srv_state *srv_state_acquire(void)
{
    pthread_mutex_lock(&cur_lock);
    srv_state *st = cur;
    if (st)
        atomic_fetch_add(&st->refs, 1);
    pthread_mutex_unlock(&cur_lock);
    return st;
}

void srv_state_release(srv_state *st)
{
    if (st && atomic_fetch_sub(&st->refs, 1) == 1)
        state_free(st);
}

void srv_state_install(srv_state *st)
{
    pthread_mutex_lock(&cur_lock);
    srv_state *old = cur;
    cur = st;
    pthread_mutex_unlock(&cur_lock);
    srv_state_release(old);
}

const srv_key *srv_state_find(const srv_state *st, const char *name, size_t *index)
{
    for (size_t i = 0; i < st->nkeys; i++)
        if (strcmp(st->keys[i].conf->name, name) == 0) {
            if (index)
                *index = i;
            return &st->keys[i];
        }
    return NULL;
}

int srv_key_published(const srv_key *k, int64_t now)
{
    if (k->conf->state != SRV_KEY_RETIRING)
        return 1;
    /* A token issued just before retirement lives at most max_ttl. */
    return now < k->retiring_since + k->conf->max_ttl;
}

/* Each published key with the alg it is configured for and its use, so that verifiers and
 * encrypters need not be told out of band (RFC 7517 §4.2, §4.4). */
char *srv_jwks_json(const srv_state *st, int64_t now)
{
    json_t *keys = json_array(), *set = json_pack("{s:o}", "keys", keys);
    char *out = NULL;
    if (!set)
        return NULL;
    for (size_t i = 0; i < st->nkeys; i++) {
        const srv_key *k = &st->keys[i];
        if (!srv_key_published(k, now))
            continue;
        json_t *jwk = json_loads(k->ref->jwk_json, JSON_REJECT_DUPLICATES, NULL);
        int sig = hwj_alg_get_kind(k->conf->alg) == HWJ_ALG_KIND_JWS;
        if (!jwk || json_object_set_new(jwk, "alg", json_string(hwj_alg_name(k->conf->alg))) ||
            json_object_set_new(jwk, "use", json_string(sig ? "sig" : "enc")) ||
            json_array_append_new(keys, jwk)) {
            json_decref(set);
            return NULL;
        }
    }
    out = json_dumps(set, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(set);
    return out;
}

static srv_keyref *keyref_open(hwj_ctx *ctx, const srv_key_conf *kc, const srv_state *prev,
                               char *msg, size_t msglen)
{
    for (size_t i = 0; prev && i < prev->nkeys; i++)
        if (strcmp(prev->keys[i].ref->uri, kc->uri) == 0) {
            atomic_fetch_add(&prev->keys[i].ref->refs, 1);
            return prev->keys[i].ref;
        }
    srv_keyref *r = calloc(1, sizeof(*r));
    hwj_error err = {0};
    if (!r || !(r->uri = strdup(kc->uri))) {
        snprintf(msg, msglen, "out of memory");
        goto fail;
    }
    atomic_init(&r->refs, 1);
    if (hwj_key_open(ctx, kc->uri, NULL, &r->key, &err) != HWJ_OK) {
        snprintf(msg, msglen, "key '%s': %s", kc->name, err.message);
        goto fail;
    }
    if (hwj_key_public_jwk(r->key, &r->jwk_json, &err) != HWJ_OK) {
        snprintf(msg, msglen, "key '%s': public JWK: %s", kc->name, err.message);
        goto fail;
    }
    return r;
fail:
    if (r) {
        hwj_key_free(r->key);
        free(r->uri);
        free(r);
    }
    return NULL;
}

int srv_state_build(hwj_ctx *ctx, srv_config *cfg, const srv_state *prev, srv_state **out,
                    char *msg, size_t msglen)
{
    int64_t now = (int64_t)time(NULL);
    srv_state *st = calloc(1, sizeof(*st));
    if (!st || !(st->keys = calloc(cfg->nkeys, sizeof(*st->keys)))) {
        free(st);
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    atomic_init(&st->refs, 1);
    st->cfg = cfg;
    st->loaded_at = now;
    for (size_t i = 0; i < cfg->nkeys; i++) {
        const srv_key_conf *kc = &cfg->keys[i];
        srv_key *k = &st->keys[i];
        k->conf = kc;
        if (!(k->ref = keyref_open(ctx, kc, prev, msg, msglen)))
            goto fail;
        st->nkeys = i + 1;
        k->kid = hwj_key_get0_kid(k->ref->key);
        if (!hwj_key_can(k->ref->key, kc->alg)) {
            snprintf(msg, msglen, "config keys[%zu]: key '%s' (%s) cannot perform %s", i, kc->name,
                     kc->uri, hwj_alg_name(kc->alg));
            goto fail;
        }
        k->retiring_since = now;
        const srv_key *old = prev ? srv_state_find(prev, kc->name, NULL) : NULL;
        if (old && old->conf->state == SRV_KEY_RETIRING && kc->state == SRV_KEY_RETIRING &&
            old->kid && k->kid && strcmp(old->kid, k->kid) == 0)
            k->retiring_since = old->retiring_since;
    }
    *out = st;
    return 0;
fail:
    st->cfg = NULL; /* the caller still owns cfg */
    state_free(st);
    return -1;
}

int srv_reload(hwj_ctx *ctx, const char *path, char *msg, size_t msglen)
{
    srv_config *cfg = NULL;
    srv_state *st = NULL;
    if (srv_config_load(path, &cfg, msg, msglen))
        return -1;
    srv_state *prev = srv_state_acquire();
    if (prev && (strcmp(prev->cfg->listen_host, cfg->listen_host) != 0 ||
                 prev->cfg->port != cfg->port || prev->cfg->workers != cfg->workers ||
                 !!prev->cfg->tls_cert != !!cfg->tls_cert || prev->cfg->mtls != cfg->mtls)) {
        snprintf(msg, msglen, "config: listen, workers and tls take effect only on restart");
        goto fail;
    }
    if (prev && strcmp(prev->cfg->audit_path, cfg->audit_path) != 0) {
        snprintf(msg, msglen, "config audit.path: changing the audit log needs a restart");
        goto fail;
    }
    if (srv_state_build(ctx, cfg, prev, &st, msg, msglen))
        goto fail;
    /* Warn about keys whose tokens may still be in use leaving the JWKS early. */
    for (size_t i = 0; prev && i < prev->nkeys; i++) {
        const srv_key *o = &prev->keys[i];
        if (!srv_state_find(st, o->conf->name, NULL) && o->conf->state != SRV_KEY_PUBLISHED &&
            srv_key_published(o, (int64_t)time(NULL)))
            fprintf(stderr,
                    "hwjose serve: warning: key '%s' removed while its tokens may still be "
                    "valid; retire it for max_ttl (%llds) before removing it\n",
                    o->conf->name, (long long)o->conf->max_ttl);
    }
    srv_state_release(prev);
    srv_state_install(st);
    return 0;
fail:
    srv_state_release(prev);
    srv_config_free(cfg);
    return -1;
}
