/* reload.c: the running state — built from a config and the store's versions, and replaced
 * atomically (versions.c decides when: a SIGHUP, a change in the store).
 *
 * A state is built completely (every version's key opened and checked against its alg and
 * kid) before it replaces the current one; any failure leaves the old state serving.
 * Requests hold a reference to the state they started with, so a new one never pulls a key
 * out from under an operation in flight. Keys whose URI did not change are carried over open
 * (no new login). */
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
    for (size_t i = 0; i < st->nkeys; i++) {
        for (size_t j = 0; j < st->keys[i].nv; j++)
            keyref_release(st->keys[i].v[j].ref);
        free(st->keys[i].v);
    }
    free(st->keys);
    srv_versions_free(st->versions, st->nversions);
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

const srv_kver *srv_key_signing(const srv_key *k, int64_t now)
{
    const srv_kver *best = NULL;
    for (size_t i = 0; i < k->nv; i++)
        if (k->v[i].rec->activate_at <= now && !srv_lc_removed(k->v[i].rec, now))
            best = &k->v[i];
    return best;
}

const srv_kver *srv_key_decrypting(const srv_key *k, const char *kid, int64_t now)
{
    const srv_kver *found = NULL;
    for (size_t i = 0; i < k->nv; i++)
        if (srv_lc_can_decrypt(k->v[i].rec, now) &&
            (kid == NULL || strcmp(k->v[i].rec->kid, kid) == 0))
            found = &k->v[i]; /* with no kid: the newest */
    return found;
}

/* Each version in the JWKS with the alg its key is configured for and its use, so that
 * verifiers and encrypters need not be told out of band (RFC 7517 §4.2, §4.4). Built from the
 * store's records (not from process state), so every replica's body is the same. */
char *srv_jwks_json(const srv_state *st, int64_t now)
{
    json_t *keys = json_array(), *set = json_pack("{s:o}", "keys", keys);
    char *out = NULL;
    if (!set)
        return NULL;
    for (size_t i = 0; i < st->nkeys; i++) {
        const srv_key *k = &st->keys[i];
        int sig = hwj_alg_get_kind(k->conf->alg) == HWJ_ALG_KIND_JWS;
        for (size_t j = 0; j < k->nv; j++) {
            if (!srv_lc_in_jwks(k->v[j].rec, now))
                continue;
            json_t *jwk = json_loads(k->v[j].rec->jwk, JSON_REJECT_DUPLICATES, NULL);
            if (!jwk || json_object_set_new(jwk, "alg", json_string(k->v[j].rec->alg)) ||
                json_object_set_new(jwk, "use", json_string(sig ? "sig" : "enc")) ||
                json_array_append_new(keys, jwk)) {
                json_decref(set);
                return NULL;
            }
        }
    }
    out = json_dumps(set, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(set);
    return out;
}

static srv_keyref *keyref_open(hwj_ctx *ctx, const srv_key_conf *kc, const char *uri,
                               const srv_state *prev, char *msg, size_t msglen)
{
    const char *name = kc->name;
    hwj_key_open_opts opts = {.size = sizeof(hwj_key_open_opts),
                              .allow_extractable = kc->allow_extractable};
    for (size_t i = 0; prev && i < prev->nkeys; i++)
        for (size_t j = 0; j < prev->keys[i].nv; j++)
            if (strcmp(prev->keys[i].v[j].ref->uri, uri) == 0 &&
                prev->keys[i].v[j].ref->allow_extractable == kc->allow_extractable) {
                atomic_fetch_add(&prev->keys[i].v[j].ref->refs, 1);
                return prev->keys[i].v[j].ref;
            }
    srv_keyref *r = calloc(1, sizeof(*r));
    hwj_error err = {0};
    if (!r || !(r->uri = strdup(uri))) {
        snprintf(msg, msglen, "out of memory");
        goto fail;
    }
    atomic_init(&r->refs, 1);
    r->allow_extractable = kc->allow_extractable;
    if (hwj_key_open(ctx, uri, &opts, &r->key, &err) != HWJ_OK) {
        snprintf(msg, msglen, "key '%s': %s", name, err.message);
        goto fail;
    }
    if (hwj_key_public_jwk(r->key, &r->jwk_json, &err) != HWJ_OK) {
        snprintf(msg, msglen, "key '%s': public JWK: %s", name, err.message);
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

/* Open the versions of `kc` found in versions[0..n) that are not removed at `now`. */
static int key_build(hwj_ctx *ctx, const srv_key_conf *kc, const srv_version *versions, size_t n,
                     const srv_state *prev, int64_t now, srv_key *k, char *msg, size_t msglen)
{
    k->conf = kc;
    if (!(k->v = calloc(n ? n : 1, sizeof(*k->v)))) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const srv_version *rec = &versions[i];
        if (strcmp(rec->key_name, kc->name) != 0 || srv_lc_removed(rec, now))
            continue;
        if (hwj_alg_from_name(rec->alg) != kc->alg) {
            snprintf(msg, msglen,
                     "key '%s' version %lld is %s in the store, but the config says %s; a key's "
                     "alg cannot change (configure a new key name)",
                     kc->name, (long long)rec->version, rec->alg, hwj_alg_name(kc->alg));
            return -1;
        }
        srv_keyref *ref = keyref_open(ctx, kc, rec->uri, prev, msg, msglen);
        if (!ref)
            return -1;
        k->v[k->nv++] = (srv_kver){.rec = rec, .ref = ref};
        const char *kid = hwj_key_get0_kid(ref->key);
        if (!kid || strcmp(kid, rec->kid) != 0) {
            snprintf(msg, msglen,
                     "key '%s' version %lld: the key at its URI has kid '%s', the store says '%s' "
                     "(was the token object replaced?)",
                     kc->name, (long long)rec->version, kid ? kid : "?", rec->kid);
            return -1;
        }
        if (!hwj_key_can(ref->key, kc->alg)) {
            snprintf(msg, msglen, "key '%s' version %lld (%.*s) cannot perform %s", kc->name,
                     (long long)rec->version, (int)strcspn(rec->uri, "?"), rec->uri,
                     hwj_alg_name(kc->alg)); /* never a URI's query in a message */
            return -1;
        }
    }
    return 0;
}

int srv_state_build(hwj_ctx *ctx, srv_config *cfg, srv_version *versions, size_t nversions,
                    int64_t generation, const srv_state *prev, srv_state **out, char *msg,
                    size_t msglen)
{
    int64_t now = srv_unix_now();
    srv_state *st = calloc(1, sizeof(*st));
    if (!st || !(st->keys = calloc(cfg->nkeys, sizeof(*st->keys)))) {
        free(st);
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    atomic_init(&st->refs, 1);
    st->cfg = cfg;
    st->loaded_at = now;
    st->generation = generation;
    for (size_t i = 0; i < cfg->nkeys; i++) {
        st->nkeys = i + 1;
        if (key_build(ctx, &cfg->keys[i], versions, nversions, prev, now, &st->keys[i], msg,
                      msglen))
            goto fail;
    }
    st->versions = versions; /* owned from here on */
    st->nversions = nversions;
    *out = st;
    return 0;
fail:
    st->cfg = NULL; /* the caller still owns cfg and versions */
    state_free(st);
    return -1;
}
