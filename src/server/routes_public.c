/* routes_public.c: GET /.well-known/jwks.json (public), /v1/keys (authenticated), /healthz,
 * /livez and /readyz (public; token probes cached) and /metrics (authenticated unless
 * metrics_public). */
#include "server/routes.h"

#include "core/error.h"
#include "server/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- GET routes ---------------------------------------------------------- */

void rq_get_jwks(rq *r)
{
    char *body = srv_jwks_json(r->st, srv_unix_now());
    char hash[65], etag[72], cc[64];
    if (!body) {
        rq_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    srv_sha256_hex(body, strlen(body), hash);
    snprintf(etag, sizeof(etag), "\"%.32s\"", hash);
    snprintf(cc, sizeof(cc), "public, max-age=%d", r->st->cfg->jwks_max_age);
    srv_req_add_header(r->req, "ETag", etag);
    srv_req_add_header(r->req, "Cache-Control", cc);
    const char *inm = srv_req_header(r->req, "If-None-Match");
    if (inm && (strstr(inm, etag) || strcmp(inm, "*") == 0))
        rq_finish(r, 304, "Not Modified", NULL, NULL, 0);
    else
        rq_finish(r, 200, "OK", "application/jwk-set+json", body, strlen(body));
    free(body);
}

void rq_get_keys(rq *r)
{
    int64_t now = srv_unix_now();
    if (!rq_authenticate(r))
        return;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < r->st->nkeys; i++) {
        const srv_key *k = &r->st->keys[i];
        const srv_kver *sv = srv_key_signing(k, now);
        const srv_kver *shown = sv ? sv : k->nv ? &k->v[k->nv - 1] : NULL;
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:o,s:s?,s:s?,s:I,s:I,s:I,s:o,s:o}", "name", k->conf->name, "state",
            shown ? srv_lc_state(shown->rec, now) : "none", "alg", hwj_alg_name(k->conf->alg),
            "version", sv ? json_integer(sv->rec->version) : json_null(), "kid",
            sv ? sv->rec->kid : NULL, "uri", shown ? shown->rec->uri : NULL, "versions",
            (json_int_t)k->nv, "ttl", (json_int_t)k->conf->ttl, "max_ttl",
            (json_int_t)k->conf->max_ttl, "permissions", rq_perms_json(r->client->perms[i]),
            "custody", rq_custody_json(shown ? shown->ref->key : NULL));
        json_array_append_new(arr, o);
    }
    rq_reply_json(r, 200, json_pack("{s:o}", "keys", arr));
}

/* Token reachability, cached briefly: this endpoint is public and must not turn
 * into a way to drive the token. */
static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;
static double health_at;
static json_t *health_keys;
static int health_ok;

static const uint8_t health_probe[] = "hwjose-healthz";

/* One token operation per key, with the version that serves now: a signature, or for a
 * decryption key a JWE to its own public key decrypted (RSA unwrap or ECDH inside the token) and
 * compared. */
static hwj_err probe_key(const srv_key *key, hwj_error *err)
{
    int64_t now = srv_unix_now();
    hwj_alg alg = key->conf->alg, enc = HWJ_ENC_A128GCM;
    const srv_kver *k = hwj_alg_get_kind(alg) == HWJ_ALG_KIND_JWS
                            ? srv_key_signing(key, now)
                            : srv_key_decrypting(key, NULL, now);
    if (!k)
        return hwj_error_set(err, HWJ_ERR_KEY_NOT_FOUND, "no version of the key is active");
    if (hwj_alg_get_kind(alg) == HWJ_ALG_KIND_JWS) {
        uint8_t sig[HWJ_SIG_MAX];
        size_t siglen = sizeof(sig);
        return hwj_key_sign(k->ref->key, alg, health_probe, sizeof(health_probe) - 1, sig, &siglen,
                            err);
    }
    hwj_jwk *jwk = NULL;
    char *jwe = NULL;
    hwj_jwe_result *res = NULL;
    hwj_err rc = hwj_jwk_parse(k->ref->jwk_json, strlen(k->ref->jwk_json), &jwk, err);
    if (rc != HWJ_OK)
        goto out;
    hwj_jwe_recipient to = {.size = sizeof(hwj_jwe_recipient), .alg = alg, .jwk = jwk};
    hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts), .enc = enc};
    if ((rc = hwj_jwe_encrypt(&to, 1, health_probe, sizeof(health_probe) - 1, &eo, &jwe, err)) !=
        HWJ_OK)
        goto out;
    hwj_jwe_decrypt_opts o = {.size = sizeof(hwj_jwe_decrypt_opts),
                              .algs = &alg,
                              .nalgs = 1,
                              .encs = &enc,
                              .nencs = 1,
                              .key = k->ref->key};
    if ((rc = hwj_jwe_decrypt(jwe, strlen(jwe), &o, &res, err)) != HWJ_OK)
        goto out;
    if (res->plaintext_len != sizeof(health_probe) - 1 ||
        memcmp(res->plaintext, health_probe, res->plaintext_len) != 0)
        rc = hwj_error_set(err, HWJ_ERR_DECRYPT, "the probe decrypted to something else");
out:
    hwj_jwe_result_free(res);
    hwj_free(jwe);
    hwj_jwk_free(jwk);
    return rc;
}

/* Every key probed, at most once per 2 s: {"name":"ok"|"unavailable"} (referenced) and whether
 * all answered. */
static json_t *probe_keys(rq *r, int *all_ok)
{
    pthread_mutex_lock(&health_lock);
    double now = srv_now_seconds();
    if (!health_keys || now - health_at > 2.0) {
        json_t *keys = json_object();
        int ok = 1;
        for (size_t i = 0; i < r->st->nkeys; i++) {
            const srv_key *k = &r->st->keys[i];
            hwj_error err = {0};
            double t = srv_now_seconds();
            hwj_err rc = probe_key(k, &err);
            srv_metrics_token_op("health", srv_now_seconds() - t, rc == HWJ_OK);
            if (rc != HWJ_OK) {
                ok = 0;
                srv_log(SRV_LOG_ERR, r->req, "health probe: key '%s': %s", k->conf->name,
                        err.message);
            }
            json_object_set_new(keys, k->conf->name,
                                json_string(rc == HWJ_OK ? "ok" : "unavailable"));
        }
        json_decref(health_keys);
        health_keys = keys;
        health_ok = ok;
        health_at = now;
    }
    json_t *keys = json_incref(health_keys);
    *all_ok = health_ok;
    pthread_mutex_unlock(&health_lock);
    return keys;
}

void rq_get_healthz(rq *r)
{
    int ok = 0;
    int64_t gen = 0;
    json_t *keys = probe_keys(r, &ok);
    int store = srv_versions_store_ok(&gen);
    /* A store outage stops only rotation: still 200, so a balancer keeps the replica. */
    rq_reply_json(r, ok ? 200 : 503,
                  json_pack("{s:s,s:o,s:s,s:I}", "status",
                            !ok     ? "unavailable"
                            : store ? "ok"
                                    : "degraded",
                            "keys", keys, "store", store ? "ok" : "unavailable", "generation",
                            (json_int_t)gen));
}

void rq_get_livez(rq *r)
{
    rq_reply_json(r, 200, json_pack("{s:s}", "status", "alive"));
}

void rq_get_readyz(rq *r)
{
    int ok = 0;
    int64_t gen = 0;
    json_t *keys = probe_keys(r, &ok), *degraded = json_array(), *v;
    const char *name;
    int store = srv_versions_store_ok(&gen);
    json_object_foreach(keys, name, v)
    {
        if (strcmp(json_string_value(v), "ok") != 0)
            json_array_append_new(degraded, json_string(name));
    }
    rq_reply_json(r, ok ? 200 : 503,
                  json_pack("{s:s,s:o,s:o,s:s,s:I,s:I}", "status",
                            !ok     ? "not_ready"
                            : store ? "ready"
                                    : "degraded",
                            "keys", keys, "degraded", degraded, "store",
                            store ? "ok" : "unavailable", "generation", (json_int_t)gen,
                            "config_generation", (json_int_t)srv_metrics_config_generation()));
}

void rq_get_metrics(rq *r)
{
    if (!r->st->cfg->metrics_public && !rq_authenticate(r))
        return;
    char *text = srv_metrics_render(srv_versions_token_reinits());
    if (!text) {
        rq_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    rq_finish(r, 200, "OK", "text/plain; version=0.0.4", text, strlen(text));
    free(text);
}
