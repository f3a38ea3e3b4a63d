/* routes_keys.c: the key operations, POST /v1/keys/{name}/jwt|sign|decrypt (docs/api.md). Order
 * of checks: method, authentication (401), key exists (404), client's ACL (403), key state (409),
 * body (400), then the operation; a token failure is 503; every answer after authentication is
 * audited before it is sent. */
#include "server/routes.h"

#include "core/b64url.h"
#include "core/error.h"
#include "core/json.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* --- POST /v1/keys/{name}/jwt -------------------------------------------- */

/* One replay cache for the process (RFC 9449 §11.1): every worker and every key share it, and its
 * entries are keyed by the proof key and htu too. Made once, lives as long as the process. */
static hwj_dpop_replay *dpop_replay;
static pthread_once_t dpop_once = PTHREAD_ONCE_INIT;

static void dpop_replay_init(void)
{
    if (hwj_dpop_replay_new(0, 0, 0, &dpop_replay, NULL) != HWJ_OK)
        dpop_replay = NULL; /* then every proof is refused: see dpop_bind */
}

/* Check the request's DPoP proof against the key's policy; on success `cnf` ({"jkt":...}) is
 * what the token is bound to, or NULL (a Bearer token). 0 when refused (replied). */
static int dpop_bind(rq *r, json_t **cnf)
{
    const srv_key_conf *kc = r->key->conf;
    size_t n = srv_req_header_count(r->req, "DPoP");
    hwj_dpop_result *res = NULL;
    hwj_error err = {0};
    *cnf = NULL;
    if (n == 0 && kc->dpop != SRV_DPOP_REQUIRED)
        return 1;
    if (n == 0 || n > 1 || kc->dpop == SRV_DPOP_OFF) {
        rq_reply_error(r, 400, "invalid_dpop_proof",
                       n == 0  ? "key '%s' issues DPoP-bound tokens only: send one DPoP header"
                       : n > 1 ? "key '%s': send exactly one DPoP header"
                               : "key '%s' does not issue DPoP-bound tokens",
                       kc->name);
        return 0;
    }
    pthread_once(&dpop_once, dpop_replay_init);
    hwj_dpop_verify_opts o = {.size = sizeof(hwj_dpop_verify_opts),
                              .htm = "POST",
                              .htu = kc->dpop_htu,
                              .replay = dpop_replay};
    hwj_err rc = dpop_replay ? hwj_dpop_verify(srv_req_header(r->req, "DPoP"), &o, &res, &err)
                             : HWJ_ERR_NOMEM;
    if (rc != HWJ_OK) {
        rq_reply_error(r, 400, "invalid_dpop_proof", "%s",
                       dpop_replay ? err.message : "no DPoP replay cache (out of memory)");
        return 0;
    }
    *cnf = json_pack("{s:s}", "jkt", res->jkt);
    hwj_dpop_result_free(res);
    if (!*cnf) {
        rq_reply_error(r, 500, "internal", "out of memory");
        return 0;
    }
    return 1;
}

static void op_jwt(rq *r, json_t *body)
{
    static const char *const allowed[] = {"claims", "ttl", NULL};
    const srv_key_conf *kc = r->key->conf;
    json_t *claims = json_object_get(body, "claims");
    json_t *extra = NULL, *cnf = NULL;
    const char **aud = NULL;
    char *extra_json = NULL, *jwt = NULL, *signed_claims = NULL;
    hwj_error err = {0};
    if (!rq_only_members(r, body, allowed))
        return;
    if (!json_is_object(claims)) {
        rq_reply_error(r, 400, "bad_request", "\"claims\" must be a JSON object");
        return;
    }
    int64_t ttl = kc->ttl;
    json_t *jttl = json_object_get(body, "ttl");
    if (jttl) {
        if (!json_is_integer(jttl) || json_integer_value(jttl) <= 0 ||
            json_integer_value(jttl) > kc->max_ttl) {
            rq_reply_error(r, 400, "bad_request", "\"ttl\" must be an integer from 1 to %lld",
                           (long long)kc->max_ttl);
            return;
        }
        ttl = json_integer_value(jttl);
    }
    json_t *jiss = json_object_get(claims, "iss");
    const char *iss = kc->iss;
    if (jiss && !json_is_string(jiss)) {
        rq_reply_error(r, 400, "bad_request", "claim 'iss' must be a string");
        return;
    }
    if (kc->iss && jiss && strcmp(json_string_value(jiss), kc->iss) != 0) {
        rq_reply_error(r, 403, "claim_not_allowed", "key '%s' issues only for iss '%s'", kc->name,
                       kc->iss);
        return;
    }
    if (!iss) {
        if (!jiss) {
            rq_reply_error(r, 400, "bad_request", "claim 'iss' is required (key '%s' pins none)",
                           kc->name);
            return;
        }
        iss = json_string_value(jiss);
    }
    json_t *jsub = json_object_get(claims, "sub");
    if (jsub && !json_is_string(jsub)) {
        rq_reply_error(r, 400, "bad_request", "claim 'sub' must be a string");
        return;
    }
    json_t *jaud = json_object_get(claims, "aud");
    size_t naud = json_is_array(jaud) ? json_array_size(jaud) : json_is_string(jaud) ? 1 : 0;
    if (naud == 0 || naud > 64) {
        rq_reply_error(r, 400, "bad_request",
                       "claim 'aud' is required: a string or an array of 1 to 64 strings");
        return;
    }
    if (!(aud = calloc(naud, sizeof(*aud)))) {
        rq_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < naud; i++) {
        json_t *a = json_is_array(jaud) ? json_array_get(jaud, i) : jaud;
        if (!json_is_string(a)) {
            rq_reply_error(r, 400, "bad_request", "claim 'aud' must hold strings");
            goto out;
        }
        aud[i] = json_string_value(a);
        int ok = kc->naud == 0;
        for (size_t j = 0; j < kc->naud; j++)
            ok |= strcmp(kc->aud[j], aud[i]) == 0;
        if (!ok) {
            rq_reply_error(r, 403, "claim_not_allowed", "key '%s' may not issue for aud '%s'",
                           kc->name, aud[i]);
            goto out;
        }
    }
    if (!(extra = json_copy(claims))) { /* shallow: only top-level members are removed */
        rq_reply_error(r, 500, "internal", "out of memory");
        goto out;
    }
    json_object_del(extra, "iss");
    json_object_del(extra, "sub");
    json_object_del(extra, "aud");
    if (kc->dpop != SRV_DPOP_OFF && json_object_get(extra, "cnf")) {
        rq_reply_error(r, 400, "claim_not_allowed",
                       "claim 'cnf' is set by the server from the DPoP proof");
        goto out;
    }
    if (kc->at_jwt) { /* RFC 9068 §2.2: sub and client_id required (iat, jti, exp always set) */
        json_t *cid = json_object_get(extra, "client_id");
        if (!jsub || (cid && !json_is_string(cid))) {
            rq_reply_error(r, 400, "bad_request",
                           "key '%s' issues RFC 9068 access tokens: claim 'sub' is required and "
                           "'client_id' must be a string",
                           kc->name);
            goto out;
        }
        if (!cid && json_object_set_new(extra, "client_id", json_string(r->client->name)) != 0) {
            rq_reply_error(r, 500, "internal", "out of memory");
            goto out;
        }
    }
    if (!dpop_bind(r, &cnf))
        goto out;
    if (cnf && json_object_set(extra, "cnf", cnf) != 0) {
        rq_reply_error(r, 500, "internal", "out of memory");
        goto out;
    }
    extra_json = json_dumps(extra, JSON_COMPACT | JSON_PRESERVE_ORDER);
    hwj_jwt_issue_opts o = {.size = sizeof(hwj_jwt_issue_opts),
                            .typ = kc->at_jwt ? "at+jwt" : NULL,
                            .iss = iss,
                            .sub = jsub ? json_string_value(jsub) : NULL,
                            .aud = aud,
                            .naud = naud,
                            .ttl = ttl,
                            .claims_json = extra_json,
                            .alg = kc->alg,
                            .refuse_registered = 1};
    double t = srv_now_seconds();
    hwj_err rc = hwj_jwt_issue_claims(r->ver->ref->key, &o, &jwt, &signed_claims, &err);
    srv_metrics_token_op("sign", srv_now_seconds() - t, rc == HWJ_OK);
    if (rc != HWJ_OK) {
        rq_reply_hwj_error(r, rc, &err);
        goto out;
    }
    /* Audit the signed payload: the JWT's claims exactly as they were signed. */
    int ok = rq_audit_jwt(r, signed_claims);
    if (ok) {
        /* A compact JWT is base64url and dots: it needs no JSON escaping, so the hot path
         * formats its answer without building a JSON object. */
        static const char bearer[] = "\",\"token_type\":\"Bearer\"}",
                          dpop[] = "\",\"token_type\":\"DPoP\"}";
        srv_piece answer[] = {{"{\"jwt\":\"", 8}, {jwt, strlen(jwt)}, {"\"}", 2}};
        if (kc->dpop != SRV_DPOP_OFF) /* RFC 9449 §5: the token's type for a DPoP-aware key */
            answer[2] =
                cnf ? (srv_piece){dpop, sizeof(dpop) - 1} : (srv_piece){bearer, sizeof(bearer) - 1};
        rq_finish_pieces(r, 200, rq_reason(200), "application/json", answer, 3);
    }
out:
    hwj_free(signed_claims);
    hwj_free(jwt);
    free(extra_json);
    json_decref(cnf);
    json_decref(extra);
    free(aud);
}

/* --- POST /v1/keys/{name}/sign ------------------------------------------- */

/* A JWT media type: "JWT", "application/jwt" or any "...+jwt" (at+jwt, secevent+jwt), compared
 * case-insensitively as RFC 7515 §4.1.9 says. */
static int is_jwt_type(const json_t *v)
{
    if (!json_is_string(v))
        return 0;
    const char *t = json_string_value(v);
    size_t n = json_string_length(v);
    if (n >= 12 && strncasecmp(t, "application/", 12) == 0)
        t += 12, n -= 12;
    return strcasecmp(t, "JWT") == 0 || (n >= 4 && strcasecmp(t + n - 4, "+jwt") == 0);
}

static void op_sign(rq *r, json_t *body)
{
    static const char *const allowed[] = {"payload", "header", NULL};
    /* The server owns these: the key decides alg and kid; key references and crit
     * would let a caller make verifiers trust something other than the JWKS. */
    static const char *const reserved[] = {"alg", "kid",      "jwk",  "jku", "x5u", "x5c",
                                           "x5t", "x5t#S256", "crit", "b64", "zip", "enc"};
    uint8_t *payload = NULL;
    size_t plen = 0;
    char *hdr = NULL, *jws = NULL;
    hwj_error err = {0};
    if (!rq_only_members(r, body, allowed))
        return;
    json_t *jp = json_object_get(body, "payload");
    json_t *jh = json_object_get(body, "header");
    if (!json_is_string(jp)) {
        rq_reply_error(r, 400, "bad_request", "\"payload\" (base64url) is required");
        return;
    }
    if (jh && !json_is_object(jh)) {
        rq_reply_error(r, 400, "bad_request", "\"header\" must be a JSON object");
        return;
    }
    for (size_t i = 0; jh && i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (json_object_get(jh, reserved[i])) {
            rq_reply_error(r, 400, "bad_request", "header member '%s' is set by the server",
                           reserved[i]);
            return;
        }
    /* /sign never mints a JWT of any kind: that is what /jwt is for, with the key's pinned iss,
     * aud list and lifetimes (RFC 8725 §3.11-3.12). Without this, a client allowed only to sign
     * could sign claims of its choosing that verifiers take for an issued JWT. Every /sign
     * output is explicitly typed ("JOSE" unless the client names a non-JWT type), and the
     * JWTs from /jwt carry "typ":"JWT", so a verifier that pins typ tells the two apart. */
    if (jh &&
        (is_jwt_type(json_object_get(jh, "typ")) || is_jwt_type(json_object_get(jh, "cty")))) {
        rq_reply_error(r, 400, "typ_reserved",
                       "a JWT type in typ or cty: /sign does not issue JWTs; use "
                       "POST /v1/keys/%s/jwt",
                       r->key->conf->name);
        return;
    }
    if (jh && json_object_get(jh, "typ") && !json_is_string(json_object_get(jh, "typ"))) {
        rq_reply_error(r, 400, "bad_request", "header member 'typ' must be a string");
        return;
    }
    if (hwj_b64url_decode(json_string_value(jp), json_string_length(jp), &payload, &plen, "payload",
                          &err) != HWJ_OK) {
        rq_reply_error(r, 400, "bad_request", "%s", err.message);
        return;
    }
    json_t *h = jh ? json_copy(jh) : json_object();
    if (h && !json_object_get(h, "typ"))
        json_object_set_new(h, "typ", json_string("JOSE"));
    hdr = h ? json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(h);
    if (!hdr) {
        hwj_free(payload);
        rq_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    hwj_jws_sign_opts o = {
        .size = sizeof(hwj_jws_sign_opts), .alg = r->key->conf->alg, .header_json = hdr};
    double t = srv_now_seconds();
    hwj_err rc = hwj_jws_sign(r->ver->ref->key, payload, plen, &o, &jws, &err);
    srv_metrics_token_op("sign", srv_now_seconds() - t, rc == HWJ_OK);
    if (rc != HWJ_OK)
        rq_reply_hwj_error(r, rc, &err);
    else if (rq_audit_ok(r, payload, plen))
        rq_reply_json(r, 200, json_pack("{s:s}", "jws", jws));
    hwj_free(jws);
    free(hdr);
    hwj_free(payload);
}

/* --- POST /v1/keys/{name}/decrypt ---------------------------------------- */

/* The kid in a compact JWE's protected header, if it has one that fits. Nothing is trusted
 * from it but the choice of which of this key's own versions to try. */
static int jwe_kid(const char *jwe, char *out, size_t cap)
{
    const char *dot = strchr(jwe, '.');
    uint8_t *hdr = NULL;
    size_t len = 0;
    json_t *h = NULL;
    hwj_error err = {0};
    int found = 0;
    if (dot && hwj_b64url_decode(jwe, (size_t)(dot - jwe), &hdr, &len, "header", &err) == HWJ_OK &&
        hwj_json_parse_object((const char *)hdr, len, 0, "JWE header", &h, &err) == HWJ_OK) {
        const char *kid = json_string_value(json_object_get(h, "kid"));
        if (kid && strlen(kid) < cap) {
            strcpy(out, kid);
            found = 1;
        }
    }
    json_decref(h);
    hwj_free(hdr);
    return found;
}

static void op_decrypt(rq *r, json_t *body)
{
    static const char *const allowed[] = {"jwe", NULL};
    static const hwj_alg encs[] = {HWJ_ENC_A128CBC_HS256, HWJ_ENC_A192CBC_HS384,
                                   HWJ_ENC_A256CBC_HS512, HWJ_ENC_A128GCM,
                                   HWJ_ENC_A192GCM,       HWJ_ENC_A256GCM};
    hwj_jwe_result *res = NULL;
    char *pt = NULL;
    hwj_error err = {0};
    if (!rq_only_members(r, body, allowed))
        return;
    json_t *jj = json_object_get(body, "jwe");
    const char *jwe = json_string_value(jj);
    if (!jwe) {
        rq_reply_error(r, 400, "bad_request", "\"jwe\" (compact serialization) is required");
        return;
    }
    /* The version named by the JWE's kid (any not yet removed), or the newest without one. */
    char kid[128];
    int has_kid = jwe_kid(jwe, kid, sizeof(kid));
    if (!(r->ver = srv_key_decrypting(r->key, has_kid ? kid : NULL, srv_unix_now()))) {
        rq_reply_error(r, 400, "decryption_failed", "decryption failed");
        return;
    }
    hwj_alg alg = r->key->conf->alg;
    hwj_jwe_decrypt_opts o = {.size = sizeof(hwj_jwe_decrypt_opts),
                              .algs = &alg,
                              .nalgs = 1,
                              .encs = encs,
                              .nencs = sizeof(encs) / sizeof(encs[0]),
                              .key = r->ver->ref->key,
                              .max_size = r->st->cfg->max_body};
    double t = srv_now_seconds();
    hwj_err rc = hwj_jwe_decrypt(jwe, json_string_length(jj), &o, &res, &err);
    srv_metrics_token_op("decrypt", srv_now_seconds() - t, rc == HWJ_OK || rc == HWJ_ERR_DECRYPT);
    if (rc != HWJ_OK) {
        rq_reply_hwj_error(r, rc, &err);
        return;
    }
    /* The audit records the hash of the JWE, never of the plaintext. The answer is written in
     * pieces straight into the connection's buffer (wiped once sent): no JSON library copy of
     * the plaintext is made. alg and enc are names from the alg table (ASCII, nothing to
     * escape); the plaintext is base64url. */
    if (hwj_b64url_encode(res->plaintext, res->plaintext_len, &pt, &err) != HWJ_OK) {
        rq_reply_error(r, 500, "internal", "out of memory");
    } else if (rq_audit_ok(r, (const uint8_t *)jwe, json_string_length(jj))) {
        const char *alg_name = hwj_alg_name(res->alg), *enc_name = hwj_alg_name(res->enc);
        const srv_piece answer[] = {{"{\"plaintext\":\"", 14},
                                    {pt, strlen(pt)},
                                    {"\",\"alg\":\"", 9},
                                    {alg_name, strlen(alg_name)},
                                    {"\",\"enc\":\"", 9},
                                    {enc_name, strlen(enc_name)},
                                    {"\"}", 2}};
        rq_finish_pieces(r, 200, rq_reason(200), "application/json", answer,
                         sizeof(answer) / sizeof(answer[0]));
    }
    if (pt)
        hwj_free_secret(pt, strlen(pt));
    hwj_jwe_result_free(res);
}

void rq_key_op(rq *r, const char *name, const char *op)
{
    size_t ki = 0;
    unsigned need = strcmp(op, "jwt") == 0    ? SRV_PERM_JWT
                    : strcmp(op, "sign") == 0 ? SRV_PERM_SIGN
                                              : SRV_PERM_DECRYPT;
    r->op = op;
    r->route = need == SRV_PERM_JWT    ? SRV_ROUTE_JWT
               : need == SRV_PERM_SIGN ? SRV_ROUTE_SIGN
                                       : SRV_ROUTE_DECRYPT;
    if (r->req->method != SRV_METHOD_POST) {
        srv_req_add_header(r->req, "Allow", "POST");
        rq_reply_error(r, 405, "method_not_allowed", "use POST");
        return;
    }
    if (!rq_authenticate(r))
        return;
    if (!(r->key = srv_state_find(r->st, name, &ki))) {
        r->op = NULL; /* nothing to audit: no such key */
        rq_reply_error(r, 404, "not_found", "no key named '%s'; GET /v1/keys lists them", name);
        return;
    }
    if (!(r->client->perms[ki] & need)) {
        rq_reply_error(r, 403, "forbidden", "client '%s' may not %s with key '%s'", r->client->name,
                       op, name);
        return;
    }
    int km = hwj_alg_get_kind(r->key->conf->alg) == HWJ_ALG_KIND_KM;
    if (km != (need == SRV_PERM_DECRYPT)) {
        rq_reply_error(r, 400, "bad_request", "key '%s' (%s) is not a %s key", name,
                       hwj_alg_name(r->key->conf->alg), km ? "signing" : "decryption");
        return;
    }
    /* Signing uses the version active now (the decrypting one is chosen by the JWE's kid). */
    if (need != SRV_PERM_DECRYPT && !(r->ver = srv_key_signing(r->key, srv_unix_now()))) {
        rq_reply_error(r, 409, "key_not_active", "key '%s' has no active version yet", name);
        return;
    }
    json_t *body = rq_read_body(r);
    if (!body)
        return;
    if (need == SRV_PERM_JWT)
        op_jwt(r, body);
    else if (need == SRV_PERM_SIGN)
        op_sign(r, body);
    else
        op_decrypt(r, body);
    json_decref(body);
}
