/* routes.c: the HTTP API's dispatch (docs/api.md): a request's path and method to its route —
 * the key operations in routes_keys.c, the public routes in routes_public.c — and the API's answer
 * to what the HTTP layer refuses. How answers are formed lives in routes_reply.c. Before a
 * request gets here the HTTP layer has refused bad framing and a Content-Length over the limit
 * (413, unread). */
#include "server/routes.h"

#include <string.h>

/* A GET route: GET and HEAD only. */
static void get_route(rq *r, srv_route route, void (*fn)(rq *))
{
    r->route = route;
    if (r->req->method != SRV_METHOD_GET && r->req->method != SRV_METHOD_HEAD) {
        srv_req_add_header(r->req, "Allow", "GET, HEAD");
        rq_reply_error(r, 405, "method_not_allowed", "use GET");
        return;
    }
    fn(r);
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

/* /v1/keys/{name} and /v1/keys/{name}/{op}. */
static void key_route(rq *r, const char *rest)
{
    char name[128];
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n >= sizeof(name)) {
        rq_reply_error(r, 404, "not_found", "no such route");
        return;
    }
    memcpy(name, rest, n);
    name[n] = '\0';
    r->name = name;
    if (!slash)
        get_route(r, SRV_ROUTE_KEYS, rq_get_key);
    else if (strcmp(slash + 1, "rotate") == 0)
        rq_rotate(r);
    else if (strcmp(slash + 1, "jwt") == 0 || strcmp(slash + 1, "sign") == 0 ||
             strcmp(slash + 1, "decrypt") == 0)
        rq_key_op(r, name, slash + 1);
    else
        rq_reply_error(r, 404, "not_found", "no such route");
}

void srv_handle(void *arg, srv_req *req)
{
    (void)arg;
    rq r = {.req = req, .route = SRV_ROUTE_OTHER, .t0 = srv_now_seconds()};
    const char *path = srv_req_path(req);
    static const char prefix[] = "/v1/keys/";
    static const struct {
        const char *path;
        srv_route route;
        void (*fn)(rq *);
    } gets[] = {{"/.well-known/jwks.json", SRV_ROUTE_JWKS, rq_get_jwks},
                {"/v1/keys", SRV_ROUTE_KEYS, rq_get_keys},
                {"/healthz", SRV_ROUTE_HEALTHZ, rq_get_healthz},
                {"/livez", SRV_ROUTE_LIVEZ, rq_get_livez},
                {"/readyz", SRV_ROUTE_READYZ, rq_get_readyz},
                {"/metrics", SRV_ROUTE_METRICS, rq_get_metrics}};

    if (!(r.st = srv_state_acquire())) {
        rq_reply_error(&r, 503, "internal", "starting up");
        return;
    }
    size_t i = 0;
    while (i < sizeof(gets) / sizeof(gets[0]) && strcmp(gets[i].path, path) != 0)
        i++;
    if (i < sizeof(gets) / sizeof(gets[0]))
        get_route(&r, gets[i].route, gets[i].fn);
    else if (strncmp(path, prefix, sizeof(prefix) - 1) == 0)
        key_route(&r, path + sizeof(prefix) - 1);
    else if (ends_with(path, "/.well-known/openid-configuration"))
        get_route(&r, SRV_ROUTE_DISCOVERY, rq_get_discovery);
    else
        rq_reply_error(&r, 404, "not_found", "no such route");
    srv_state_release(r.st);
}

void srv_reply_refused(void *arg, srv_req *req, int status)
{
    (void)arg;
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
    rq_reply_error(&r, refusals[i].status, refusals[i].code, "%s", refusals[i].message);
}
