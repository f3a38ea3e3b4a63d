/*
 * server.h: the signing service's internal interfaces (`hwjose serve`).
 *
 * Shape: config.c parses and validates the JSON config into an immutable
 * srv_config; reload.c opens every key of a config into an immutable, reference-
 * counted srv_state and swaps it in atomically (SIGHUP); http.c runs one evhttp per
 * worker thread on a shared listening socket; routes.c answers requests against the
 * current state; auth.c, audit.c and metrics.c are the controls around them.
 */
#ifndef HWJ_SERVER_H
#define HWJ_SERVER_H

#include <hwjose/hwjose.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct evhttp_request;

/* --- config.c -------------------------------------------------------------- */

typedef enum srv_key_state {
    SRV_KEY_PUBLISHED = 0, /* in the JWKS, signs nothing yet */
    SRV_KEY_ACTIVE = 1,    /* signs and is in the JWKS */
    SRV_KEY_RETIRING = 2,  /* signs nothing; stays in the JWKS until max_ttl has passed */
} srv_key_state;

enum { SRV_PERM_JWT = 1u, SRV_PERM_SIGN = 2u, SRV_PERM_DECRYPT = 4u };

typedef enum srv_mtls { SRV_MTLS_OFF = 0, SRV_MTLS_OPTIONAL = 1, SRV_MTLS_REQUIRED = 2 } srv_mtls;

typedef struct srv_key_conf {
    char *name;
    char *uri;
    hwj_alg alg;
    srv_key_state state;
    int64_t ttl;     /* lifetime of the JWTs it issues */
    int64_t max_ttl; /* the longest lifetime a client may ask for (>= ttl) */
    char *iss;       /* pinned issuer, or NULL (then the client's iss is used) */
    char **aud;      /* allowed audiences; naud 0 = any the client names */
    size_t naud;
} srv_key_conf;

typedef struct srv_client_conf {
    char *name;
    int has_token;
    uint8_t token_sha256[32];
    char *mtls_subject; /* RFC 2253 subject of the client certificate, or NULL */
    unsigned *perms;    /* per key, parallel to srv_config.keys */
} srv_client_conf;

typedef struct srv_config {
    char *listen_host;
    unsigned short port;
    char *tls_cert, *tls_key, *tls_client_ca;
    srv_mtls mtls;
    int allow_plain_http_non_loopback;
    unsigned workers;
    srv_key_conf *keys;
    size_t nkeys;
    srv_client_conf *clients;
    size_t nclients;
    size_t max_body;
    int timeout_seconds;
    unsigned max_connections;
    char *audit_path;
    int audit_fsync;
    int metrics_public;
    int jwks_max_age;
} srv_config;

/* Parse and validate; on failure `msg` says where ("config keys[2].state: must be ..."). */
int srv_config_load(const char *path, srv_config **out, char *msg, size_t msglen);
void srv_config_free(srv_config *cfg);
const char *srv_key_state_name(srv_key_state s);
int srv_host_is_loopback(const char *host);

/* --- reload.c: the running state --------------------------------------------- */

typedef struct srv_keyref {
    atomic_int refs;
    char *uri;
    hwj_key *key;
    char *jwk_json; /* public JWK, compact */
} srv_keyref;

typedef struct srv_key {
    const srv_key_conf *conf;
    srv_keyref *ref;
    const char *kid;
    int64_t retiring_since; /* when this process first saw it retiring */
} srv_key;

typedef struct srv_state {
    atomic_int refs;
    srv_config *cfg;
    srv_key *keys;
    size_t nkeys;
    int64_t loaded_at;
} srv_state;

/* Open every key of `cfg` (reusing keys of `prev` with the same URI) into a new state. */
int srv_state_build(hwj_ctx *ctx, srv_config *cfg, const srv_state *prev, srv_state **out,
                    char *msg, size_t msglen);
srv_state *srv_state_acquire(void); /* the current state, referenced */
void srv_state_release(srv_state *st);
/* Install `st` as current (takes the reference); returns 0. */
void srv_state_install(srv_state *st);
/* Re-read config at `path`; keeps the old state on any failure. 0 on success. */
int srv_reload(hwj_ctx *ctx, const char *path, char *msg, size_t msglen);
const srv_key *srv_state_find(const srv_state *st, const char *name, size_t *index);
/* Whether the key belongs in the JWKS at time `now`. */
int srv_key_published(const srv_key *k, int64_t now);
/* {"keys":[...]}; caller frees. */
char *srv_jwks_json(const srv_state *st, int64_t now);

/* --- auth.c -------------------------------------------------------------- */

/* The client authenticated by the request (bearer token or mTLS subject), or NULL. */
const srv_client_conf *srv_auth_client(const srv_state *st, struct evhttp_request *req,
                                       int *had_credentials);
/* Bearer token → client (constant-time compare against every client). */
const srv_client_conf *srv_auth_token(const srv_config *cfg, const char *token, size_t len);

/* --- audit.c ------------------------------------------------------------- */

int srv_audit_open(const char *path, int do_fsync, char *msg, size_t msglen);
void srv_audit_close(void);
/* Append one record; returns 0 only when it is on disk (flushed, fsync'd if configured). */
int srv_audit_record(const char *client, const char *key, const char *kid, const char *alg,
                     const char *op, const uint8_t *payload, size_t payload_len,
                     const char *result);
/* Check a log's chain. 0: intact (head hash in `head`); 1: broken at *bad_line (msg says
 * why); -1: could not read. */
int srv_audit_verify(const char *path, size_t *records, size_t *bad_line, char head[65], char *msg,
                     size_t msglen);
void srv_sha256_hex(const void *data, size_t len, char out[65]);
/* SHA-256, fetched from the default provider once (process lifetime). */
const struct evp_md_st *srv_sha256(void);

/* --- metrics.c ----------------------------------------------------------- */

typedef enum srv_route {
    SRV_ROUTE_JWT,
    SRV_ROUTE_SIGN,
    SRV_ROUTE_DECRYPT,
    SRV_ROUTE_JWKS,
    SRV_ROUTE_KEYS,
    SRV_ROUTE_HEALTHZ,
    SRV_ROUTE_METRICS,
    SRV_ROUTE_OTHER,
    SRV_ROUTE_COUNT_
} srv_route;

void srv_metrics_request(srv_route route, int status, double seconds);
void srv_metrics_error(const char *code);
void srv_metrics_token_op(const char *op, double seconds, int ok);
char *srv_metrics_render(void);
double srv_now_seconds(void);

/* --- routes.c / http.c --------------------------------------------------- */

void srv_handle(struct evhttp_request *req, void *arg);
/* 503 too_many_connections. */
void srv_reply_busy(struct evhttp_request *req);
/* Run until SIGTERM/SIGINT. `config_path` is re-read on SIGHUP. Returns an exit code. */
int srv_run(const char *config_path);

#endif
