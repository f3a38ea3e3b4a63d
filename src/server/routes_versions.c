/* routes_versions.c: a key's versions over HTTP (docs/api.md, docs/rotation.md) —
 * POST /v1/keys/{name}/rotate, GET /v1/keys/{name} — and OpenID Connect Discovery for each
 * pinned issuer, GET [issuer path]/.well-known/openid-configuration. */
#include "server/routes.h"

#include "core/json.h"
#include "server/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *time_or_null(int64_t t)
{
    return t ? json_integer(t) : json_null();
}

/* One version as the API shows it; `key` is its opened key (NULL once removed). */
static json_t *version_json(const srv_version *v, const hwj_key *key, int64_t now)
{
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:o,s:s,s:o}", "version",
                     (json_int_t)v->version, "kid", v->kid, "state", srv_lc_state(v, now), "origin",
                     v->origin, "created_by", v->created_by, "created_at",
                     (json_int_t)v->created_at, "publish_at", (json_int_t)v->publish_at,
                     "activate_at", (json_int_t)v->activate_at, "retire_at",
                     time_or_null(v->retire_at), "remove_at", time_or_null(v->remove_at), "uri",
                     v->uri, "custody", rq_custody_json(key));
}

/* The named key and the client's permissions on it; replies and returns NULL if either fails. */
static const srv_key *named_key(rq *r, unsigned need)
{
    size_t ki = 0;
    if (!rq_authenticate(r))
        return NULL;
    if (!(r->key = srv_state_find(r->st, r->name, &ki))) {
        r->op = NULL; /* nothing to audit: no such key */
        rq_reply_error(r, 404, "not_found", "no key named '%s'; GET /v1/keys lists them", r->name);
        return NULL;
    }
    if (!(r->client->perms[ki] & need)) {
        rq_reply_error(r, 403, "forbidden", "client '%s' may not %s key '%s'", r->client->name,
                       need == SRV_PERM_ROTATE ? "rotate" : "see", r->name);
        return NULL;
    }
    return r->key;
}

void rq_get_key(rq *r)
{
    int64_t now = srv_unix_now();
    const srv_key *k = named_key(r, ~0u);
    if (!k)
        return;
    const srv_kver *sv = srv_key_signing(k, now);
    json_t *list = json_array();
    /* Every version the store holds, removed ones too: the history an auditor asks for. */
    for (size_t i = 0; list && i < r->st->nversions; i++) {
        const srv_version *v = &r->st->versions[i];
        if (strcmp(v->key_name, k->conf->name) != 0)
            continue;
        const hwj_key *opened = NULL;
        for (size_t j = 0; j < k->nv; j++)
            if (k->v[j].rec == v)
                opened = k->v[j].ref->key;
        json_array_append_new(list, version_json(v, opened, now));
    }
    rq_reply_json(r, 200,
                  json_pack("{s:s,s:s,s:o,s:o}", "name", k->conf->name, "alg",
                            hwj_alg_name(k->conf->alg), "signing_version",
                            sv ? json_integer(sv->rec->version) : json_null(), "versions", list));
}

void rq_rotate(rq *r)
{
    static const char *const allowed[] = {"uri", NULL};
    static const int status[] = {
        [SRV_ROTATE_OK] = 200,          [SRV_ROTATE_PENDING] = 409, [SRV_ROTATE_BUSY] = 409,
        [SRV_ROTATE_UNAVAILABLE] = 503, [SRV_ROTATE_BAD] = 400,     [SRV_ROTATE_FAILED] = 503};
    static const char *const code[] = {[SRV_ROTATE_OK] = "",
                                       [SRV_ROTATE_PENDING] = "rotation_pending",
                                       [SRV_ROTATE_BUSY] = "rotation_busy",
                                       [SRV_ROTATE_UNAVAILABLE] = "store_unavailable",
                                       [SRV_ROTATE_BAD] = "bad_request",
                                       [SRV_ROTATE_FAILED] = "rotation_failed"};
    char msg[512];
    srv_version *nv = NULL;
    r->op = "rotate";
    r->route = SRV_ROUTE_ROTATE;
    if (r->req->method != SRV_METHOD_POST) {
        srv_req_add_header(r->req, "Allow", "POST");
        rq_reply_error(r, 405, "method_not_allowed", "use POST");
        return;
    }
    if (!named_key(r, SRV_PERM_ROTATE))
        return;
    json_t *body = r->req->body_len ? rq_read_body(r) : json_object();
    if (!body || !rq_only_members(r, body, allowed))
        goto out;
    json_t *juri = json_object_get(body, "uri");
    if (juri && !json_is_string(juri)) {
        rq_reply_error(r, 400, "bad_request", "\"uri\" must be a key URI string");
        goto out;
    }
    if (juri && strstr(json_string_value(juri), "pin-value")) {
        rq_reply_error(r, 400, "bad_request", "\"uri\": pin-value is refused (use pin-source)");
        goto out;
    }
    srv_rotate_result rc = srv_rotate(r->st->cfg, r->key->conf, json_string_value(juri),
                                      srv_unix_now(), &nv, msg, sizeof(msg));
    if (rc != SRV_ROTATE_OK) {
        if (rc == SRV_ROTATE_FAILED || rc == SRV_ROTATE_UNAVAILABLE)
            srv_log(SRV_LOG_ERR, r->req, "rotate key '%s': %s", r->name, msg);
        rq_reply_error(r, status[rc], code[rc], "%s",
                       rc == SRV_ROTATE_FAILED ? "the new version could not be made or recorded"
                                               : msg);
        goto out;
    }
    /* This replica picks the new version up now; the others within store_refresh. */
    char ignored[256];
    (void)srv_versions_refresh(ignored, sizeof(ignored));
    const srv_kver none = {.rec = nv};
    r->ver = &none; /* the audit names the new version's kid */
    if (rq_audit_ok(r, (const uint8_t *)nv->jwk, strlen(nv->jwk)))
        rq_reply_json(r, 200, version_json(nv, NULL, srv_unix_now()));
    r->ver = NULL;
out:
    srv_versions_free(nv, nv ? 1 : 0);
    json_decref(body);
}

/* GET ISSUER-PATH/.well-known/openid-configuration: the issuer of the config whose path is the
 * request's prefix (OpenID Connect Discovery 1.0 §4), with the JWKS at its origin. */
void rq_get_discovery(rq *r)
{
    const char *path = srv_req_path(r->req);
    size_t plen = strlen(path) - strlen("/.well-known/openid-configuration");
    const srv_config *cfg = r->st->cfg;
    const char *iss = NULL;
    size_t olen = 0;
    for (size_t i = 0; i < cfg->nkeys && !iss; i++) {
        const char *k = cfg->keys[i].iss;
        const char *scheme = k ? strstr(k, "://") : NULL;
        if (!scheme || hwj_alg_get_kind(cfg->keys[i].alg) != HWJ_ALG_KIND_JWS)
            continue;
        const char *p = strchr(scheme + 3, '/');
        size_t origin = p ? (size_t)(p - k) : strlen(k);
        const char *kpath = k + origin;
        size_t klen = strlen(kpath);
        while (klen > 0 && kpath[klen - 1] == '/')
            klen--;
        if (klen == plen && strncmp(kpath, path, plen) == 0) {
            iss = k;
            olen = origin;
        }
    }
    if (!iss) {
        rq_reply_error(r, 404, "not_found", "no issuer of this service lives at this path");
        return;
    }
    json_t *algs = json_array();
    uint64_t seen = 0; /* each alg once */
    for (size_t i = 0; algs && i < cfg->nkeys; i++) {
        hwj_alg a = cfg->keys[i].alg;
        if (cfg->keys[i].iss && strcmp(cfg->keys[i].iss, iss) == 0 &&
            hwj_alg_get_kind(a) == HWJ_ALG_KIND_JWS && !(seen & ((uint64_t)1 << a))) {
            seen |= (uint64_t)1 << a;
            json_array_append_new(algs, json_string(hwj_alg_name(a)));
        }
    }
    char jwks_uri[1024], cc[64];
    snprintf(jwks_uri, sizeof(jwks_uri), "%.*s/.well-known/jwks.json", (int)olen, iss);
    snprintf(cc, sizeof(cc), "public, max-age=%d", cfg->jwks_max_age);
    srv_req_add_header(r->req, "Cache-Control", cc);
    rq_reply_json(r, 200,
                  json_pack("{s:s,s:s,s:o}", "issuer", iss, "jwks_uri", jwks_uri,
                            "id_token_signing_alg_values_supported", algs));
}
