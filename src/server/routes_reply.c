/* routes_reply.c: how the API answers (docs/api.md): JSON bodies, the error shape
 * {"error":{"code","message"}} with a stable code, hwj_err → HTTP status, the body and member
 * checks, authentication and the audit of key operations — shared by routes.c, routes_keys.c
 * and routes_public.c, below all three. Once a client is authenticated against a key, every
 * answer is audited before it is sent: "ok", "denied:<code>" or "error:<code>". */
#include "server/routes.h"

#include "core/error.h"
#include "core/json.h"
#include "server/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The route as the access log names it: a template, since a path may carry anything. */
static const char *route_template(const rq *r)
{
    static const char *const t[SRV_ROUTE_COUNT_] = {[SRV_ROUTE_JWT] = "/v1/keys/{name}/jwt",
                                                    [SRV_ROUTE_SIGN] = "/v1/keys/{name}/sign",
                                                    [SRV_ROUTE_DECRYPT] = "/v1/keys/{name}/decrypt",
                                                    [SRV_ROUTE_JWKS] = "/.well-known/jwks.json",
                                                    [SRV_ROUTE_KEYS] = "/v1/keys",
                                                    [SRV_ROUTE_HEALTHZ] = "/healthz",
                                                    [SRV_ROUTE_METRICS] = "/metrics",
                                                    [SRV_ROUTE_OTHER] = "-",
                                                    [SRV_ROUTE_ROTATE] = "/v1/keys/{name}/rotate",
                                                    [SRV_ROUTE_DISCOVERY] =
                                                        "{issuer}/.well-known/openid-configuration",
                                                    [SRV_ROUTE_LIVEZ] = "/livez",
                                                    [SRV_ROUTE_READYZ] = "/readyz"};
    if (r->route == SRV_ROUTE_KEYS && r->name)
        return "/v1/keys/{name}";
    return t[r->route];
}

void rq_finish_pieces(rq *r, int status, const char *reason, const char *ctype,
                      const srv_piece *body, size_t n)
{
    /* Out of memory: the HTTP layer closes the connection instead of answering. */
    (void)srv_req_reply(r->req, status, reason, ctype, body, n);
    double took = srv_now_seconds() - r->t0;
    srv_metrics_request(r->route, status, took);
    srv_log_access(r->req, route_template(r), status, r->client ? r->client->name : NULL,
                   r->key ? r->key->conf->name : NULL, took);
}

void rq_finish(rq *r, int status, const char *reason, const char *ctype, const char *body,
               size_t len)
{
    srv_piece p = {body, len};
    rq_finish_pieces(r, status, reason, ctype, &p, body ? 1 : 0);
}

const char *rq_reason(int status)
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

void rq_reply_json(rq *r, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (!text) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        rq_finish(r, 500, rq_reason(500), "application/json", oom, sizeof(oom) - 1);
    } else {
        rq_finish(r, status, rq_reason(status), "application/json", text, strlen(text));
    }
    free(text);
    json_decref(body);
}

/* The record of this request's operation; jwt: the claims minted (jti, sub, exp). */
static int audit(rq *r, const char *result, const uint8_t *payload, size_t len, const json_t *jwt)
{
    srv_audit_event e = {.op = r->op,
                         .result = result,
                         .client = r->client ? r->client->name : NULL,
                         .key = r->key ? r->key->conf->name : NULL,
                         .kid = r->ver ? r->ver->rec->kid : NULL,
                         .alg = r->key ? hwj_alg_name(r->key->conf->alg) : NULL,
                         .payload = payload,
                         .payload_len = len,
                         .req = r->req};
    if (jwt) {
        e.jti = json_string_value(json_object_get(jwt, "jti"));
        e.sub = json_string_value(json_object_get(jwt, "sub"));
        e.exp = json_integer_value(json_object_get(jwt, "exp"));
    }
    return srv_audit_record(&e);
}

static void audit_refusal(rq *r, const char *result)
{
    /* A failure to write the record is logged; the refusal stands anyway. */
    srv_metrics_key_op(r->key ? r->key->conf->name : NULL, r->op, result);
    if (audit(r, result, NULL, 0, NULL) != 0)
        srv_log(SRV_LOG_ERR, r->req, "audit log write failed for a refusal");
}

void rq_reply_error(rq *r, int status, const char *code, const char *fmt, ...)
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
    if (r->op && status == 401 && !r->client) {
        /* Anyone can send these: counted per source and summarised, not written one by one. */
        srv_audit_unauthenticated(r->req);
    } else if (r->op && (denied || (r->client && strcmp(code, "audit_unavailable") != 0))) {
        char res[64];
        snprintf(res, sizeof(res), "%s:%s", denied ? "denied" : "error", code);
        audit_refusal(r, res);
    }
    srv_metrics_error(code);
    rq_reply_json(r, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

/* An hwj_err from an operation → HTTP status and error code. */
void rq_reply_hwj_error(rq *r, hwj_err rc, const hwj_error *err)
{
    switch (rc) {
    case HWJ_ERR_TOKEN:
    case HWJ_ERR_AUTH:
        srv_log(SRV_LOG_ERR, r->req, "key '%s': %s", r->key->conf->name, err->message);
        rq_reply_error(r, 503, "token_unavailable", "the key's token is unavailable; try again");
        return;
    case HWJ_ERR_ARG:
    case HWJ_ERR_PARSE:
    case HWJ_ERR_LIMIT:
    case HWJ_ERR_UNSUPPORTED:
    case HWJ_ERR_CLAIMS: rq_reply_error(r, 400, "bad_request", "%s", err->message); return;
    case HWJ_ERR_POLICY:
    case HWJ_ERR_CAPABILITY: rq_reply_error(r, 400, "bad_request", "%s", err->message); return;
    case HWJ_ERR_DECRYPT: rq_reply_error(r, 400, "decryption_failed", "decryption failed"); return;
    default:
        srv_log(SRV_LOG_ERR, r->req, "key '%s': %s", r->key->conf->name, err->message);
        rq_reply_error(r, 500, "internal", "the operation failed");
    }
}

/* Parse the body as a JSON object; replies and returns NULL on failure. */
json_t *rq_read_body(rq *r)
{
    size_t len = r->req->body_len;
    hwj_error err = {0};
    json_t *obj = NULL;
    if (len > r->st->cfg->max_body) {
        rq_reply_error(r, 413, "payload_too_large", "the body exceeds %zu bytes",
                       r->st->cfg->max_body);
        return NULL;
    }
    const char *text = (const char *)r->req->body;
    if (len == 0 || !text ||
        hwj_json_parse_object(text, len, 0, "request body", &obj, &err) != HWJ_OK) {
        rq_reply_error(r, 400, "invalid_json", "%s",
                       len == 0 ? "the body must be a JSON object" : err.message);
        return NULL;
    }
    return obj;
}

int rq_only_members(rq *r, json_t *obj, const char *const *allowed)
{
    const char *k = hwj_json_unknown_member(obj, allowed);
    if (k)
        rq_reply_error(r, 400, "bad_request", "unknown member '%s'", k);
    return k == NULL;
}

static int audited(rq *r, int rc)
{
    srv_metrics_key_op(r->key ? r->key->conf->name : NULL, r->op, "ok");
    if (rc == 0)
        return 1;
    srv_log(SRV_LOG_ERR, r->req, "audit log write failed; withholding the result");
    rq_reply_error(r, 503, "audit_unavailable", "the audit log cannot be written");
    return 0;
}

/* Audit a completed operation; on failure the result is withheld (fail closed). */
int rq_audit_ok(rq *r, const uint8_t *payload, size_t len)
{
    return audited(r, audit(r, "ok", payload, len, NULL));
}

int rq_audit_jwt(rq *r, const char *claims)
{
    json_t *c = json_loads(claims, 0, NULL);
    int ok = audited(r, c ? audit(r, "ok", (const uint8_t *)claims, strlen(claims), c) : -1);
    json_decref(c);
    return ok;
}

const srv_client_conf *rq_authenticate(rq *r)
{
    int had = 0;
    /* Two Authorization fields could be read differently by a proxy in front (first or last
     * wins): refuse rather than pick one. */
    if (srv_req_header_count(r->req, "Authorization") > 1) {
        rq_reply_error(r, 400, "bad_request", "more than one Authorization header");
        return NULL;
    }
    r->client =
        srv_auth_client(r->st->cfg, srv_req_header(r->req, "Authorization"), r->req->ssl, &had);
    if (!r->client)
        rq_reply_error(r, 401, "unauthorized",
                       had ? "the credentials are not valid" : "a bearer token is required");
    return r->client;
}

static json_t *tri(int v)
{
    return v < 0 ? json_null() : json_boolean(v);
}

json_t *rq_custody_json(const hwj_key *key)
{
    const hwj_custody *c = key ? hwj_key_get0_custody(key) : NULL;
    return json_pack("{s:s?,s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "backend", c ? c->backend : NULL,
                     "hardware", tri(c ? c->hardware : -1), "sensitive", tri(c ? c->sensitive : -1),
                     "always_sensitive", tri(c ? c->always_sensitive : -1), "extractable",
                     tri(c ? c->extractable : -1), "never_extractable",
                     tri(c ? c->never_extractable : -1), "local", tri(c ? c->local : -1), "notes",
                     c ? c->notes : "");
}

json_t *rq_perms_json(unsigned perms)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{SRV_PERM_JWT, "jwt"},
                 {SRV_PERM_SIGN, "sign"},
                 {SRV_PERM_DECRYPT, "decrypt"},
                 {SRV_PERM_ROTATE, "rotate"}};
    json_t *a = json_array();
    for (size_t i = 0; a && i < sizeof(names) / sizeof(names[0]); i++)
        if (perms & names[i].bit)
            json_array_append_new(a, json_string(names[i].name));
    return a;
}
