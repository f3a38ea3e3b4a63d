/* routes.h: what the API's files share. routes.c dispatches to routes_keys.c (the key operations)
 * and routes_public.c (JWKS, key list, health, metrics); all three answer through
 * routes_reply.c. Calls run down only: routes → routes_keys|routes_public → routes_reply. */
#ifndef HWJ_SERVER_ROUTES_H
#define HWJ_SERVER_ROUTES_H

#include "server/server.h"

/* One request on its way through the routes. */
typedef struct rq {
    srv_req *req;
    srv_route route;
    double t0;
    srv_state *st;
    const srv_client_conf *client;
    const srv_key *key;
    const srv_kver *ver; /* the version the operation used */
    const char *name;    /* the key named in the path */
    const char *op;      /* audited operation: "jwt", "sign", "decrypt", "rotate" */
} rq;

/* The reason phrase of an HTTP status. */
const char *rq_reason(int status);
/* Reply (body as `n` pieces written one after another) and count the request in the metrics. */
void rq_finish_pieces(rq *r, int status, const char *reason, const char *ctype,
                      const srv_piece *body, size_t n);
void rq_finish(rq *r, int status, const char *reason, const char *ctype, const char *body,
               size_t len);
/* Reply with `body` as JSON (consumed). */
void rq_reply_json(rq *r, int status, json_t *body);
/* Reply {"error":{"code","message"}}; a denial or, after authentication, a failure of a key
 * operation is audited first. */
void rq_reply_error(rq *r, int status, const char *code, const char *fmt, ...) HWJ_PRINTF(4, 5);
/* An hwj_err from an operation → its HTTP status and error code. */
void rq_reply_hwj_error(rq *r, hwj_err rc, const hwj_error *err);
/* The body as a JSON object, or NULL (replied). */
json_t *rq_read_body(rq *r);
/* 1 if `obj` has only `allowed` members (NULL-terminated), else 0 (replied 400). */
int rq_only_members(rq *r, json_t *obj, const char *const *allowed);
/* Audit a completed operation; 0 (replied 503, result withheld) when the record is not on disk. */
int rq_audit_ok(rq *r, const uint8_t *payload, size_t len);
/* The same for a minted JWT: `claims` as signed (its jti, sub and exp are recorded). */
int rq_audit_jwt(rq *r, const char *claims);
/* The client the request's credentials name, or NULL (replied 401). */
const srv_client_conf *rq_authenticate(rq *r);

/* (routes_reply.c) A key's custody facts as JSON (nulls for unknown; all null without a key). */
json_t *rq_custody_json(const hwj_key *key);
/* A client's permissions on a key as a JSON array of names. */
json_t *rq_perms_json(unsigned perms);

/* POST /v1/keys/{name}/{jwt,sign,decrypt} (routes_keys.c). */
void rq_key_op(rq *r, const char *name, const char *op);
/* POST /v1/keys/{name}/rotate and GET /v1/keys/{name} (routes_versions.c). */
void rq_rotate(rq *r);
void rq_get_key(rq *r);
/* GET [issuer path]/.well-known/openid-configuration (routes_versions.c). */
void rq_get_discovery(rq *r);
/* GET routes (routes_public.c). */
void rq_get_jwks(rq *r);
void rq_get_keys(rq *r);
void rq_get_healthz(rq *r);
void rq_get_livez(rq *r);
void rq_get_readyz(rq *r);
void rq_get_metrics(rq *r);

#endif
