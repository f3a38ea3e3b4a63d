/* routes.c: the HTTP API (docs/api.md). JSON in and out; every error is
 * {"error":{"code":"...","message":"..."}} with a stable code. Before a request gets
 * here the HTTP layer has refused bad framing and a Content-Length over the limit (413,
 * unread). Order of checks on a key operation: method, authentication (401), key
 * exists (404), client's ACL (403), key state (409), body size (413, only if a reload
 * lowered the limit while the body arrived), body (400), then the operation; a
 * token failure is 503. Once a client is authenticated against a key, every answer
 * is audited before it is sent: "ok", "denied:<code>" or "error:<code>". */
#include "server/server.h"

#include "core/b64url.h"
#include "core/error.h"
#include "core/json.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <time.h>

typedef struct rq {
    srv_req *req;
    srv_route route;
    double t0;
    srv_state *st;
    const srv_client_conf *client;
    const srv_key *key;
    const char *op; /* audited operation: "jwt", "sign", "decrypt" */
} rq;

static void finish_pieces(rq *r, int status, const char *reason, const char *ctype,
                          const srv_piece *body, size_t n)
{
    /* Out of memory: the HTTP layer closes the connection instead of answering. */
    (void)srv_req_reply(r->req, status, reason, ctype, body, n);
    srv_metrics_request(r->route, status, srv_now_seconds() - r->t0);
}

static void finish(rq *r, int status, const char *reason, const char *ctype, const char *body,
                   size_t len)
{
    srv_piece p = {body, len};
    finish_pieces(r, status, reason, ctype, &p, body ? 1 : 0);
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Internal Server Error";
    }
}

static void reply_json(rq *r, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (!text) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        finish(r, 500, reason_of(500), "application/json", oom, sizeof(oom) - 1);
    } else {
        finish(r, status, reason_of(status), "application/json", text, strlen(text));
    }
    free(text);
    json_decref(body);
}

static void audit_refusal(rq *r, const char *result)
{
    /* A failure to write the record is reported on stderr; the refusal stands anyway. */
    if (srv_audit_record(r->client ? r->client->name : NULL, r->key ? r->key->conf->name : NULL,
                         r->key ? r->key->kid : NULL,
                         r->key ? hwj_alg_name(r->key->conf->alg) : NULL, r->op, NULL, 0,
                         result) != 0)
        fprintf(stderr, "hwjose serve: audit log write failed for a refusal\n");
}

static void reply_error(rq *r, int status, const char *code, const char *fmt, ...) HWJ_PRINTF(4, 5);
static void reply_error(rq *r, int status, const char *code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (status == 401)
        srv_req_add_header(r->req, "WWW-Authenticate", "Bearer realm=\"hwjose\"");
    /* Key operations: denials always; after authentication, every failure too (a failed
     * decrypt is what an oracle attack looks like). Not a failure to audit itself. */
    int denied = status == 401 || status == 403 || status == 409;
    if (r->op && (denied || (r->client && strcmp(code, "audit_unavailable") != 0))) {
        char res[64];
        snprintf(res, sizeof(res), "%s:%s", denied ? "denied" : "error", code);
        audit_refusal(r, res);
    }
    srv_metrics_error(code);
    reply_json(r, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

/* An hwj_err from an operation → HTTP status and error code. */
static void reply_hwj_error(rq *r, hwj_err rc, const hwj_error *err)
{
    switch (rc) {
    case HWJ_ERR_TOKEN:
    case HWJ_ERR_AUTH:
        fprintf(stderr, "hwjose serve: key '%s': %s\n", r->key->conf->name, err->message);
        reply_error(r, 503, "token_unavailable", "the key's token is unavailable; try again");
        return;
    case HWJ_ERR_ARG:
    case HWJ_ERR_PARSE:
    case HWJ_ERR_LIMIT:
    case HWJ_ERR_UNSUPPORTED:
    case HWJ_ERR_CLAIMS: reply_error(r, 400, "bad_request", "%s", err->message); return;
    case HWJ_ERR_POLICY:
    case HWJ_ERR_CAPABILITY: reply_error(r, 400, "bad_request", "%s", err->message); return;
    case HWJ_ERR_DECRYPT: reply_error(r, 400, "decryption_failed", "decryption failed"); return;
    default:
        fprintf(stderr, "hwjose serve: key '%s': %s\n", r->key->conf->name, err->message);
        reply_error(r, 500, "internal", "the operation failed");
    }
}

/* Parse the body as a JSON object; replies and returns NULL on failure. */
static json_t *read_body(rq *r)
{
    size_t len = r->req->body_len;
    hwj_error err = {0};
    json_t *obj = NULL;
    if (len > r->st->cfg->max_body) {
        reply_error(r, 413, "payload_too_large", "the body exceeds %zu bytes",
                    r->st->cfg->max_body);
        return NULL;
    }
    const char *text = (const char *)r->req->body;
    if (len == 0 || !text ||
        hwj_json_parse_object(text, len, 0, "request body", &obj, &err) != HWJ_OK) {
        reply_error(r, 400, "invalid_json", "%s",
                    len == 0 ? "the body must be a JSON object" : err.message);
        return NULL;
    }
    return obj;
}

static int only_members(rq *r, json_t *obj, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            ok |= strcmp(k, allowed[i]) == 0;
        if (!ok) {
            reply_error(r, 400, "bad_request", "unknown member '%s'", k);
            return 0;
        }
    }
    return 1;
}

/* Audit a completed operation; on failure the result is withheld (fail closed). */
static int audit_ok(rq *r, const uint8_t *payload, size_t len)
{
    if (srv_audit_record(r->client->name, r->key->conf->name, r->key->kid,
                         hwj_alg_name(r->key->conf->alg), r->op, payload, len, "ok") == 0)
        return 1;
    fprintf(stderr, "hwjose serve: audit log write failed; withholding the result\n");
    reply_error(r, 503, "audit_unavailable", "the audit log cannot be written");
    return 0;
}

/* --- POST /v1/keys/{name}/jwt -------------------------------------------- */

static void op_jwt(rq *r, json_t *body)
{
    static const char *const allowed[] = {"claims", "ttl", NULL};
    static const char *const server_set[] = {"iat", "exp", "nbf", "jti"};
    const srv_key_conf *kc = r->key->conf;
    json_t *claims = json_object_get(body, "claims");
    json_t *extra = NULL;
    const char **aud = NULL;
    char *extra_json = NULL, *jwt = NULL;
    hwj_error err = {0};
    if (!only_members(r, body, allowed))
        return;
    if (!json_is_object(claims)) {
        reply_error(r, 400, "bad_request", "\"claims\" must be a JSON object");
        return;
    }
    int64_t ttl = kc->ttl;
    json_t *jttl = json_object_get(body, "ttl");
    if (jttl) {
        if (!json_is_integer(jttl) || json_integer_value(jttl) <= 0 ||
            json_integer_value(jttl) > kc->max_ttl) {
            reply_error(r, 400, "bad_request", "\"ttl\" must be an integer from 1 to %lld",
                        (long long)kc->max_ttl);
            return;
        }
        ttl = json_integer_value(jttl);
    }
    for (size_t i = 0; i < sizeof(server_set) / sizeof(server_set[0]); i++)
        if (json_object_get(claims, server_set[i])) {
            reply_error(r, 400, "bad_request", "claim '%s' is set by the server", server_set[i]);
            return;
        }
    json_t *jiss = json_object_get(claims, "iss");
    const char *iss = kc->iss;
    if (jiss && !json_is_string(jiss)) {
        reply_error(r, 400, "bad_request", "claim 'iss' must be a string");
        return;
    }
    if (kc->iss && jiss && strcmp(json_string_value(jiss), kc->iss) != 0) {
        reply_error(r, 403, "claim_not_allowed", "key '%s' issues only for iss '%s'", kc->name,
                    kc->iss);
        return;
    }
    if (!iss) {
        if (!jiss) {
            reply_error(r, 400, "bad_request", "claim 'iss' is required (key '%s' pins none)",
                        kc->name);
            return;
        }
        iss = json_string_value(jiss);
    }
    json_t *jsub = json_object_get(claims, "sub");
    if (jsub && !json_is_string(jsub)) {
        reply_error(r, 400, "bad_request", "claim 'sub' must be a string");
        return;
    }
    json_t *jaud = json_object_get(claims, "aud");
    size_t naud = json_is_array(jaud) ? json_array_size(jaud) : json_is_string(jaud) ? 1 : 0;
    if (naud == 0 || naud > 64) {
        reply_error(r, 400, "bad_request",
                    "claim 'aud' is required: a string or an array of 1 to 64 strings");
        return;
    }
    if (!(aud = calloc(naud, sizeof(*aud)))) {
        reply_error(r, 500, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < naud; i++) {
        json_t *a = json_is_array(jaud) ? json_array_get(jaud, i) : jaud;
        if (!json_is_string(a)) {
            reply_error(r, 400, "bad_request", "claim 'aud' must hold strings");
            goto out;
        }
        aud[i] = json_string_value(a);
        int ok = kc->naud == 0;
        for (size_t j = 0; j < kc->naud; j++)
            ok |= strcmp(kc->aud[j], aud[i]) == 0;
        if (!ok) {
            reply_error(r, 403, "claim_not_allowed", "key '%s' may not issue for aud '%s'",
                        kc->name, aud[i]);
            goto out;
        }
    }
    if (!(extra = json_copy(claims))) { /* shallow: only top-level members are removed */
        reply_error(r, 500, "internal", "out of memory");
        goto out;
    }
    json_object_del(extra, "iss");
    json_object_del(extra, "sub");
    json_object_del(extra, "aud");
    extra_json = json_dumps(extra, JSON_COMPACT | JSON_PRESERVE_ORDER);
    hwj_jwt_issue_opts o = {.iss = iss,
                            .sub = jsub ? json_string_value(jsub) : NULL,
                            .aud = aud,
                            .naud = naud,
                            .ttl = ttl,
                            .claims_json = extra_json,
                            .alg = kc->alg};
    double t = srv_now_seconds();
    hwj_err rc = hwj_jwt_issue(r->key->ref->key, &o, &jwt, &err);
    srv_metrics_token_op("sign", srv_now_seconds() - t, rc == HWJ_OK);
    if (rc != HWJ_OK) {
        reply_hwj_error(r, rc, &err);
        goto out;
    }
    /* Audit the signed payload: the JWT's claims as they were signed. */
    const char *p1 = strchr(jwt, '.');
    const char *p2 = p1 ? strchr(p1 + 1, '.') : NULL;
    uint8_t *payload = NULL;
    size_t plen = 0;
    if (!p2 || hwj_b64url_decode(p1 + 1, (size_t)(p2 - p1 - 1), &payload, &plen, "payload", &err) !=
                   HWJ_OK) {
        reply_error(r, 500, "internal", "issued JWT is malformed");
        goto out;
    }
    int ok = audit_ok(r, payload, plen);
    hwj_free(payload);
    if (ok) {
        /* A compact JWT is base64url and dots: it needs no JSON escaping, so the hot path
         * formats its answer without building a JSON object. */
        const srv_piece answer[] = {{"{\"jwt\":\"", 8}, {jwt, strlen(jwt)}, {"\"}", 2}};
        finish_pieces(r, 200, reason_of(200), "application/json", answer, 3);
    }
out:
    hwj_free(jwt);
    free(extra_json);
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
    if (!only_members(r, body, allowed))
        return;
    json_t *jp = json_object_get(body, "payload");
    json_t *jh = json_object_get(body, "header");
    if (!json_is_string(jp)) {
        reply_error(r, 400, "bad_request", "\"payload\" (base64url) is required");
        return;
    }
    if (jh && !json_is_object(jh)) {
        reply_error(r, 400, "bad_request", "\"header\" must be a JSON object");
        return;
    }
    for (size_t i = 0; jh && i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (json_object_get(jh, reserved[i])) {
            reply_error(r, 400, "bad_request", "header member '%s' is set by the server",
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
        reply_error(r, 400, "typ_reserved",
                    "a JWT type in typ or cty: /sign does not issue JWTs; use "
                    "POST /v1/keys/%s/jwt",
                    r->key->conf->name);
        return;
    }
    if (jh && json_object_get(jh, "typ") && !json_is_string(json_object_get(jh, "typ"))) {
        reply_error(r, 400, "bad_request", "header member 'typ' must be a string");
        return;
    }
    if (hwj_b64url_decode(json_string_value(jp), json_string_length(jp), &payload, &plen, "payload",
                          &err) != HWJ_OK) {
        reply_error(r, 400, "bad_request", "%s", err.message);
        return;
    }
    json_t *h = jh ? json_copy(jh) : json_object();
    if (h && !json_object_get(h, "typ"))
        json_object_set_new(h, "typ", json_string("JOSE"));
    hdr = h ? json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(h);
    if (!hdr) {
        hwj_free(payload);
        reply_error(r, 500, "internal", "out of memory");
        return;
    }
    hwj_jws_sign_opts o = {.alg = r->key->conf->alg, .header_json = hdr};
    double t = srv_now_seconds();
    hwj_err rc = hwj_jws_sign(r->key->ref->key, payload, plen, &o, &jws, &err);
    srv_metrics_token_op("sign", srv_now_seconds() - t, rc == HWJ_OK);
    if (rc != HWJ_OK)
        reply_hwj_error(r, rc, &err);
    else if (audit_ok(r, payload, plen))
        reply_json(r, 200, json_pack("{s:s}", "jws", jws));
    hwj_free(jws);
    free(hdr);
    hwj_free(payload);
}

/* --- POST /v1/keys/{name}/decrypt ---------------------------------------- */

static void op_decrypt(rq *r, json_t *body)
{
    static const char *const allowed[] = {"jwe", NULL};
    static const hwj_alg encs[] = {HWJ_ENC_A128CBC_HS256, HWJ_ENC_A192CBC_HS384,
                                   HWJ_ENC_A256CBC_HS512, HWJ_ENC_A128GCM,
                                   HWJ_ENC_A192GCM,       HWJ_ENC_A256GCM};
    hwj_jwe_result *res = NULL;
    char *pt = NULL;
    hwj_error err = {0};
    if (!only_members(r, body, allowed))
        return;
    json_t *jj = json_object_get(body, "jwe");
    const char *jwe = json_string_value(jj);
    if (!jwe) {
        reply_error(r, 400, "bad_request", "\"jwe\" (compact serialization) is required");
        return;
    }
    hwj_alg alg = r->key->conf->alg;
    hwj_jwe_decrypt_opts o = {.algs = &alg,
                              .nalgs = 1,
                              .encs = encs,
                              .nencs = sizeof(encs) / sizeof(encs[0]),
                              .key = r->key->ref->key,
                              .max_size = r->st->cfg->max_body};
    double t = srv_now_seconds();
    hwj_err rc = hwj_jwe_decrypt(jwe, json_string_length(jj), &o, &res, &err);
    srv_metrics_token_op("decrypt", srv_now_seconds() - t, rc == HWJ_OK || rc == HWJ_ERR_DECRYPT);
    if (rc != HWJ_OK) {
        reply_hwj_error(r, rc, &err);
        return;
    }
    /* The audit records the hash of the JWE, never of the plaintext. */
    if (hwj_b64url_encode(res->plaintext, res->plaintext_len, &pt, &err) != HWJ_OK)
        reply_error(r, 500, "internal", "out of memory");
    else if (audit_ok(r, (const uint8_t *)jwe, json_string_length(jj)))
        reply_json(r, 200,
                   json_pack("{s:s,s:s,s:s}", "plaintext", pt, "alg", hwj_alg_name(res->alg), "enc",
                             hwj_alg_name(res->enc)));
    if (pt)
        hwj_free_secret(pt, strlen(pt));
    hwj_jwe_result_free(res);
}

static void key_op(rq *r, const char *name, const char *op)
{
    int had = 0;
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
        reply_error(r, 405, "method_not_allowed", "use POST");
        return;
    }
    if (!(r->client = srv_auth_client(r->st, r->req, &had))) {
        reply_error(r, 401, "unauthorized",
                    had ? "the credentials are not valid" : "a bearer token is required");
        return;
    }
    if (!(r->key = srv_state_find(r->st, name, &ki))) {
        r->op = NULL; /* nothing to audit: no such key */
        reply_error(r, 404, "not_found", "no key named '%s'; GET /v1/keys lists them", name);
        return;
    }
    if (!(r->client->perms[ki] & need)) {
        reply_error(r, 403, "forbidden", "client '%s' may not %s with key '%s'", r->client->name,
                    op, name);
        return;
    }
    srv_key_state s = r->key->conf->state;
    if (!(s == SRV_KEY_ACTIVE || (need == SRV_PERM_DECRYPT && s == SRV_KEY_RETIRING))) {
        reply_error(r, 409, "key_not_active", "key '%s' is %s, not active", name,
                    srv_key_state_name(s));
        return;
    }
    int km = hwj_alg_get_kind(r->key->conf->alg) == HWJ_ALG_KIND_KM;
    if (km != (need == SRV_PERM_DECRYPT)) {
        reply_error(r, 400, "bad_request", "key '%s' (%s) is not a %s key", name,
                    hwj_alg_name(r->key->conf->alg), km ? "signing" : "decryption");
        return;
    }
    json_t *body = read_body(r);
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

/* --- GET routes ---------------------------------------------------------- */

static void get_jwks(rq *r)
{
    char *body = srv_jwks_json(r->st, (int64_t)time(NULL));
    char hash[65], etag[72], cc[64];
    if (!body) {
        reply_error(r, 500, "internal", "out of memory");
        return;
    }
    srv_sha256_hex(body, strlen(body), hash);
    snprintf(etag, sizeof(etag), "\"%.32s\"", hash);
    snprintf(cc, sizeof(cc), "public, max-age=%d", r->st->cfg->jwks_max_age);
    srv_req_add_header(r->req, "ETag", etag);
    srv_req_add_header(r->req, "Cache-Control", cc);
    const char *inm = srv_req_header(r->req, "If-None-Match");
    if (inm && (strstr(inm, etag) || strcmp(inm, "*") == 0))
        finish(r, 304, "Not Modified", NULL, NULL, 0);
    else
        finish(r, 200, "OK", "application/jwk-set+json", body, strlen(body));
    free(body);
}

static json_t *tri(int v)
{
    return v < 0 ? json_null() : json_boolean(v);
}

static void get_keys(rq *r)
{
    int had = 0;
    int64_t now = (int64_t)time(NULL);
    if (!(r->client = srv_auth_client(r->st, r->req, &had))) {
        reply_error(r, 401, "unauthorized",
                    had ? "the credentials are not valid" : "a bearer token is required");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < r->st->nkeys; i++) {
        const srv_key *k = &r->st->keys[i];
        const hwj_custody *c = hwj_key_get0_custody(k->ref->key);
        json_t *perm = json_array();
        unsigned p = r->client->perms[i];
        if (p & SRV_PERM_JWT)
            json_array_append_new(perm, json_string("jwt"));
        if (p & SRV_PERM_SIGN)
            json_array_append_new(perm, json_string("sign"));
        if (p & SRV_PERM_DECRYPT)
            json_array_append_new(perm, json_string("decrypt"));
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:s?,s:s,s:b,s:I,s:I,s:o,s:{s:s?,s:o,s:o,s:o,s:o,s:o,s:o,s:s}}", "name",
            k->conf->name, "state", srv_key_state_name(k->conf->state), "alg",
            hwj_alg_name(k->conf->alg), "kid", k->kid, "uri", hwj_key_get0_uri(k->ref->key),
            "in_jwks", srv_key_published(k, now), "ttl", (json_int_t)k->conf->ttl, "max_ttl",
            (json_int_t)k->conf->max_ttl, "permissions", perm, "custody", "backend",
            c ? c->backend : NULL, "hardware", tri(c ? c->hardware : -1), "sensitive",
            tri(c ? c->sensitive : -1), "always_sensitive", tri(c ? c->always_sensitive : -1),
            "extractable", tri(c ? c->extractable : -1), "never_extractable",
            tri(c ? c->never_extractable : -1), "local", tri(c ? c->local : -1), "notes",
            c ? c->notes : "");
        if (o && k->conf->state == SRV_KEY_RETIRING)
            json_object_set_new(o, "jwks_until",
                                json_integer(k->retiring_since + k->conf->max_ttl));
        json_array_append_new(arr, o);
    }
    reply_json(r, 200, json_pack("{s:o}", "keys", arr));
}

/* Token reachability, cached briefly: this endpoint is public and must not turn
 * into a way to drive the token. */
static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;
static double health_at;
static json_t *health_body;
static int health_status;

static const uint8_t health_probe[] = "hwjose-healthz";

/* One token operation per key: a signature, or for a decryption key a JWE to its own public
 * key decrypted (RSA unwrap or ECDH inside the token) and compared. */
static hwj_err probe_key(const srv_key *k, hwj_error *err)
{
    hwj_alg alg = k->conf->alg, enc = HWJ_ENC_A128GCM;
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
    hwj_jwe_recipient to = {.alg = alg, .jwk = jwk};
    hwj_jwe_encrypt_opts eo = {.enc = enc};
    if ((rc = hwj_jwe_encrypt(&to, 1, health_probe, sizeof(health_probe) - 1, &eo, &jwe, err)) !=
        HWJ_OK)
        goto out;
    hwj_jwe_decrypt_opts o = {
        .algs = &alg, .nalgs = 1, .encs = &enc, .nencs = 1, .key = k->ref->key};
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

static void get_healthz(rq *r)
{
    pthread_mutex_lock(&health_lock);
    double now = srv_now_seconds();
    if (!health_body || now - health_at > 2.0) {
        json_t *keys = json_object();
        int ok = 1;
        for (size_t i = 0; i < r->st->nkeys; i++) {
            const srv_key *k = &r->st->keys[i];
            const char *res = "ok";
            hwj_error err = {0};
            double t = srv_now_seconds();
            hwj_err rc = probe_key(k, &err);
            srv_metrics_token_op("health", srv_now_seconds() - t, rc == HWJ_OK);
            if (rc != HWJ_OK) {
                res = "unavailable";
                ok = 0;
                fprintf(stderr, "hwjose serve: healthz: key '%s': %s\n", k->conf->name,
                        err.message);
            }
            json_object_set_new(keys, k->conf->name, json_string(res));
        }
        json_decref(health_body);
        health_body = json_pack("{s:s,s:o}", "status", ok ? "ok" : "unavailable", "keys", keys);
        health_status = ok ? 200 : 503;
        health_at = now;
    }
    json_t *body = json_incref(health_body);
    int status = health_status;
    pthread_mutex_unlock(&health_lock);
    reply_json(r, status, body);
}

static void get_metrics(rq *r)
{
    int had = 0;
    if (!r->st->cfg->metrics_public && !(r->client = srv_auth_client(r->st, r->req, &had))) {
        reply_error(r, 401, "unauthorized",
                    had ? "the credentials are not valid" : "a bearer token is required");
        return;
    }
    char *text = srv_metrics_render();
    if (!text) {
        reply_error(r, 500, "internal", "out of memory");
        return;
    }
    finish(r, 200, "OK", "text/plain; version=0.0.4", text, strlen(text));
    free(text);
}

void srv_handle(srv_req *req)
{
    rq r = {.req = req, .route = SRV_ROUTE_OTHER, .t0 = srv_now_seconds()};
    const char *path = srv_req_path(req);
    int is_get = req->method == SRV_METHOD_GET || req->method == SRV_METHOD_HEAD;
    static const char prefix[] = "/v1/keys/";
    char name[128], op[16];

    if (!(r.st = srv_state_acquire())) {
        reply_error(&r, 503, "internal", "starting up");
        return;
    }
    if (strncmp(path, prefix, sizeof(prefix) - 1) == 0) {
        const char *rest = path + sizeof(prefix) - 1;
        const char *slash = strchr(rest, '/');
        size_t n = slash ? (size_t)(slash - rest) : 0;
        if (!slash || n == 0 || n >= sizeof(name) || strlen(slash + 1) >= sizeof(op) ||
            (strcmp(slash + 1, "jwt") != 0 && strcmp(slash + 1, "sign") != 0 &&
             strcmp(slash + 1, "decrypt") != 0)) {
            reply_error(&r, 404, "not_found", "no such route");
        } else {
            memcpy(name, rest, n);
            name[n] = '\0';
            strcpy(op, slash + 1);
            key_op(&r, name, op);
        }
    } else {
        static const struct {
            const char *path;
            srv_route route;
            void (*fn)(rq *);
        } gets[] = {{"/.well-known/jwks.json", SRV_ROUTE_JWKS, get_jwks},
                    {"/v1/keys", SRV_ROUTE_KEYS, get_keys},
                    {"/healthz", SRV_ROUTE_HEALTHZ, get_healthz},
                    {"/metrics", SRV_ROUTE_METRICS, get_metrics}};
        size_t i = 0;
        while (i < sizeof(gets) / sizeof(gets[0]) && strcmp(gets[i].path, path) != 0)
            i++;
        if (i == sizeof(gets) / sizeof(gets[0])) {
            reply_error(&r, 404, "not_found", "no such route");
        } else {
            r.route = gets[i].route;
            if (!is_get) {
                srv_req_add_header(req, "Allow", "GET, HEAD");
                reply_error(&r, 405, "method_not_allowed", "use GET");
            } else {
                gets[i].fn(&r);
            }
        }
    }
    srv_state_release(r.st);
}

void srv_reply_refused(srv_req *req, int status)
{
    static const struct {
        int status;
        const char *code, *message;
    } refusals[] = {
        {400, "bad_request", "malformed HTTP request"},
        {411, "length_required",
         "a request body needs a Content-Length (Transfer-Encoding is not accepted)"},
        {413, "payload_too_large", "the body exceeds the server's limit (limits.max_body_bytes)"},
        {414, "uri_too_long", "the request-target is too long"},
        {417, "expectation_failed", "only \"Expect: 100-continue\" is supported"},
        {431, "headers_too_large", "the request head is too large or has too many fields"},
        {503, "too_many_connections", "the server is at its connection limit"},
        {505, "http_version_not_supported", "only HTTP/1.1 and HTTP/1.0 are served"}};
    rq r = {.req = req, .route = SRV_ROUTE_OTHER, .t0 = srv_now_seconds()};
    size_t i = 0;
    while (i < sizeof(refusals) / sizeof(refusals[0]) - 1 && refusals[i].status != status)
        i++;
    if (refusals[i].status != status)
        i = 0;
    reply_error(&r, refusals[i].status, refusals[i].code, "%s", refusals[i].message);
}
