/*
 * server.h: the signing service's internal interfaces (`hwjose serve`).
 *
 * Shape: config.c parses and validates the JSON config into an immutable
 * srv_config; reload.c opens every key of a config into an immutable, reference-
 * counted srv_state and swaps it in atomically (SIGHUP); http.c runs the listener,
 * worker threads and signals; conn.c moves bytes on each connection (plain or TLS);
 * http1.c parses HTTP/1.1 requests and formats responses without I/O; routes.c
 * answers requests against the current state; auth.c, audit.c and metrics.c are the
 * controls around them.
 */
#ifndef HWJ_SERVER_H
#define HWJ_SERVER_H

#include "server/store.h"

#include <hwjose/hwjose.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ssl_st;
struct ssl_ctx_st;
struct event_base;

/* --- config.c -------------------------------------------------------------- */

enum { SRV_PERM_JWT = 1u, SRV_PERM_SIGN = 2u, SRV_PERM_DECRYPT = 4u, SRV_PERM_ROTATE = 8u };

typedef enum srv_mtls { SRV_MTLS_OFF = 0, SRV_MTLS_OPTIONAL = 1, SRV_MTLS_REQUIRED = 2 } srv_mtls;

/* A key's policy. Its versions (which object in which token, and when each is published,
 * signs, retires and leaves) live in the state store (docs/rotation.md). */
typedef struct srv_key_conf {
    char *name;
    char *uri;      /* an existing key, imported as version 1 when the key has none; or NULL */
    char *generate; /* URI template for new versions ({name}, {version}); or NULL */
    hwj_alg alg;
    int64_t ttl;             /* lifetime of the JWTs it issues */
    int64_t max_ttl;         /* the longest lifetime a client may ask for (>= ttl) */
    int64_t rotation_period; /* 0: rotate only on request */
    int64_t propagation;     /* a new version is published this long before it signs */
    int64_t leeway;          /* verifiers' clock leeway: added before a retired version leaves */
    char *iss;               /* pinned issuer, or NULL (then the client's iss is used) */
    char **aud;              /* allowed audiences; naud 0 = any the client names */
    size_t naud;
    int allow_extractable; /* use a token key marked extractable (refused otherwise) */
    int dpop;       /* SRV_DPOP_*: whether /jwt takes a DPoP proof and binds the token to it */
    char *dpop_htu; /* the URL clients send /jwt requests to (their proofs' htu) */
    int at_jwt;     /* RFC 9068 access-token profile: typ at+jwt, sub and client_id required */
} srv_key_conf;

enum { SRV_DPOP_OFF = 0, SRV_DPOP_OPTIONAL = 1, SRV_DPOP_REQUIRED = 2 };

typedef struct srv_client_conf {
    char *name;
    int has_token;
    uint8_t token_sha256[32];
    char *mtls_subject; /* RFC 2253 subject of the client certificate, or NULL */
    unsigned *perms;    /* per key, parallel to srv_config.keys */
} srv_client_conf;

typedef struct srv_config {
    atomic_int refs; /* states built from it share it; srv_config_free drops one */
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
    char *store_url;       /* sqlite:PATH or postgresql://... */
    int64_t store_refresh; /* seconds between polls of the store */
    char *instance;        /* this replica's name */
    int access_log;        /* one log record per request (default on) */
    /* audit (docs/audit.md) */
    int64_t audit_max_bytes;           /* rotate the file at this size; 0: never */
    unsigned audit_keep;               /* rotated files kept; 0: all */
    char *audit_key;                   /* the checkpoint key's URI, or NULL: no checkpoints */
    int audit_insecure_software_key;   /* tests only: accept a software audit key */
    unsigned audit_checkpoint_records; /* a checkpoint every this many records (0: off) */
    int64_t audit_checkpoint_seconds;  /* and this long after the last (0: off) */
    int64_t audit_denial_seconds;      /* unauthenticated-denial summaries this often */
} srv_config;

/* Parse and validate; on failure `msg` says where ("config keys[2].state: must be ..."). */
int srv_config_load(const char *path, srv_config **out, char *msg, size_t msglen);
void srv_config_free(srv_config *cfg);
/* Another reference to `cfg` (released with srv_config_free). */
srv_config *srv_config_ref(srv_config *cfg);
/* The lifecycle timing of key `k` under `cfg` (publish delay from the store refresh). */
srv_timing srv_key_timing(const srv_config *cfg, const srv_key_conf *k);
int srv_host_is_loopback(const char *host);

/* --- reload.c: the running state --------------------------------------------- */

typedef struct srv_keyref {
    atomic_int refs;
    char *uri;
    int allow_extractable; /* opened with it: reused only by a key with the same */
    hwj_key *key;
    char *jwk_json; /* public JWK, compact */
} srv_keyref;

/* One version of a key, opened. */
typedef struct srv_kver {
    const srv_version *rec; /* borrowed from srv_state.versions */
    srv_keyref *ref;
} srv_kver;

typedef struct srv_key {
    const srv_key_conf *conf;
    srv_kver *v; /* ascending version order; every version the store holds that is not removed */
    size_t nv;
} srv_key;

typedef struct srv_state {
    atomic_int refs;
    srv_config *cfg;
    srv_key *keys;
    size_t nkeys;
    srv_version *versions; /* as the store listed them (owned) */
    size_t nversions;
    int64_t generation; /* the store's change counter they were read at */
    int64_t loaded_at;
} srv_state;

/* Open the versions of every key of `cfg` (reusing keys of `prev` with the same URI) into a new
 * state; takes ownership of `versions` on success only. */
int srv_state_build(hwj_ctx *ctx, srv_config *cfg, srv_version *versions, size_t nversions,
                    int64_t generation, const srv_state *prev, srv_state **out, char *msg,
                    size_t msglen);
srv_state *srv_state_acquire(void); /* the current state, referenced */
void srv_state_release(srv_state *st);
/* Install `st` as current (takes the reference). */
void srv_state_install(srv_state *st);
/* 0 if `cfg` changes nothing that needs a restart (listen, workers, HTTP/HTTPS, audit.path,
 * store) against the running state; else -1 with msg naming it. */
int srv_reload_check(const srv_config *cfg, char *msg, size_t msglen);
const srv_key *srv_state_find(const srv_state *st, const char *name, size_t *index);
/* The version of `k` that signs at `now`, or NULL. */
const srv_kver *srv_key_signing(const srv_key *k, int64_t now);
/* The version of `k` that decrypts a JWE naming `kid` (NULL: the newest) at `now`, or NULL. */
const srv_kver *srv_key_decrypting(const srv_key *k, const char *kid, int64_t now);
/* {"keys":[...]}: the versions in the JWKS at `now`, keys in config order, versions ascending;
 * a function of the store's versions and the clock only. Caller frees. */
char *srv_jwks_json(const srv_state *st, int64_t now);

/* --- versions.c: the store behind the state ------------------------------------ */

typedef enum srv_rotate_result {
    SRV_ROTATE_OK = 0,
    SRV_ROTATE_PENDING,     /* a newer version is not active yet */
    SRV_ROTATE_BUSY,        /* another replica holds the rotation lease */
    SRV_ROTATE_UNAVAILABLE, /* the store is unreachable */
    SRV_ROTATE_BAD,         /* the request cannot work: no generate, a bad uri, a key mismatch */
    SRV_ROTATE_FAILED,      /* the token failed, or the store refused the record */
} srv_rotate_result;

/* Open the store named by the config, create the first version of each key that has none
 * (import `uri`, or generate), read every version and install the first state. */
int srv_versions_start(hwj_ctx *ctx, srv_config *cfg, char *msg, size_t msglen);
/* Install a state of `cfg` (consumed) read from the store, creating missing first versions (a
 * reload). 0, or -1 with msg (cfg freed; the old state keeps serving). */
int srv_versions_install(srv_config *cfg, char *msg, size_t msglen);
/* Start the refresher thread (poll, rebuild on change, automatic rotation). */
int srv_versions_run(void);
/* How often the key backends re-initialised a token module after failures (for /metrics). */
uint64_t srv_versions_token_reinits(void);
/* Stop the thread and close the store. */
void srv_versions_stop(void);
/* Poll the store now and install a new state if it changed. 0; -1 (msg) when the store is
 * unreachable; -2 (msg) when it answered but a new version's key could not be opened. */
int srv_versions_refresh(char *msg, size_t msglen);
/* The store was reachable at the last poll; its generation then. */
int srv_versions_store_ok(int64_t *generation);
/* The next version of `kc`: generated from its template, or the key at `uri` imported. Under
 * the store's lease; the new record in *out (free with srv_versions_free(out, 1)). */
srv_rotate_result srv_rotate(const srv_config *cfg, const srv_key_conf *kc, const char *uri,
                             int64_t now, srv_version **out, char *msg, size_t msglen);
/* The same, against a store the caller opened (the CLI). */
srv_rotate_result srv_rotate_in(srv_store *store, hwj_ctx *ctx, const srv_config *cfg,
                                const srv_key_conf *kc, const char *uri, int64_t now,
                                srv_version **out, char *msg, size_t msglen);

/* --- http1.c: one request and its response, without I/O ------------------ */

enum {
    SRV_HTTP_MAX_HEAD = 16384,  /* request line + header fields, bytes (431 past it) */
    SRV_HTTP_MAX_FIELDS = 64,   /* header fields (431 past it) */
    SRV_HTTP_MAX_TARGET = 2048, /* request-target, bytes (414 past it) */
    SRV_HTTP_OUT_MAX = 65536    /* queued response bytes past which pipelined requests wait */
};

typedef enum srv_method {
    SRV_METHOD_GET,
    SRV_METHOD_HEAD,
    SRV_METHOD_POST,
    SRV_METHOD_OTHER
} srv_method;

/* A growable byte buffer (a connection's output; kept across requests). */
typedef struct srv_buf {
    char *data;
    size_t len, cap;
} srv_buf;
int srv_buf_append(srv_buf *b, const void *p, size_t n); /* 0, or -1 out of memory */
void srv_buf_free(srv_buf *b);

/* A parsed request. Strings live in the connection's input buffer (`base`) as offsets, so the
 * buffer may move while the body is still arriving; read them with the accessors below. */
#define SRV_REQ_ID_LEN 16 /* hex digits: 64 random bits */
#define SRV_PEER_MAX 56   /* "[" INET6_ADDRSTRLEN "]:" port */

typedef struct srv_req {
    const char *base;
    srv_method method;
    int minor;                                  /* HTTP/1.<minor> */
    uint32_t path_off;                          /* request-target up to '?', NUL-terminated */
    uint32_t field_off[SRV_HTTP_MAX_FIELDS][2]; /* name, value; NUL-terminated */
    size_t nfields;
    size_t content_length;
    int keep_alive;      /* the connection stays open after the response */
    int expect_continue; /* the client waits for "100 Continue" before the body */
    const uint8_t *body;
    size_t body_len;
    struct ssl_st *ssl; /* the TLS connection (client certificate), NULL on plain HTTP */
    const char *peer;   /* the client's address ("192.0.2.1:4711", "[2001:db8::1]:4711") or "-" */
    /* A random id naming this request in the audit trail and logs, answered as X-Request-Id
     * (never taken from the client, whose value could collide or mislead an investigation). */
    char id[SRV_REQ_ID_LEN + 1];
    /* The response: extra header lines, then the whole response in `out`. */
    char extra[512];
    size_t extra_len;
    int has_cache_control;
    int replied;
    srv_buf *out;
} srv_req;

/* Parse the request head at buf[0..len) (which ends with the CRLF CRLF at buf[len-4..len));
 * request line and fields are NUL-terminated in place. 0 when it is valid, else the HTTP status
 * to answer with before closing the connection (400, 411, 414, 417, 431, 505); framing is
 * RFC 9112's: CRLF line ends only, no obs-fold, one Content-Length; a Transfer-Encoding is
 * refused with 411 (request bodies must have a Content-Length). */
int srv_http_parse_head(char *buf, size_t len, srv_req *req);
/* The end of a request head in buf[0..len) (the offset after CRLF CRLF), 0 if not there yet, or
 * SRV_HTTP_BARE_LF for a line ending in LF alone (refused: 400); `from` is where the previous
 * search stopped. Leading empty lines are skipped by the parser. */
#define SRV_HTTP_BARE_LF ((size_t)-1)
size_t srv_http_head_end(const char *buf, size_t len, size_t from);
const char *srv_req_path(const srv_req *req);
/* The first field named `name` (case-insensitive), or NULL. */
const char *srv_req_header(const srv_req *req, const char *name);
/* How many fields are named `name` (case-insensitive). */
size_t srv_req_header_count(const srv_req *req, const char *name);
/* Add a response header line; -1 if the line does not fit (never for the routes' headers). */
int srv_req_add_header(srv_req *req, const char *name, const char *value);
/* Format the whole response into req->out (HEAD: without the body), the body given as `n`
 * pieces written one after another (no joined copy). 0, or -1 out of memory. */
typedef struct srv_piece {
    const char *data;
    size_t len;
} srv_piece;
int srv_req_reply(srv_req *req, int status, const char *reason, const char *ctype,
                  const srv_piece *body, size_t n);

/* What the HTTP layer hands up to its caller (http.c sets the routes here; test_http1 its own):
 * the answer to a complete request, the answer to a refusal, and the body limit, read for every
 * request head (the caller updates it when a reload changes limits.max_body_bytes). */
typedef struct srv_http_handler {
    /* Answer one complete request (body included) into req->out; must reply. */
    void (*handle)(void *arg, srv_req *req);
    /* Answer a request the HTTP layer refuses (a status from srv_http_parse_head, 413, or 503
     * for the connection cap); the connection closes after it. */
    void (*refuse)(void *arg, srv_req *req, int status);
    void *arg;
    const atomic_size_t *max_body; /* Content-Length above it: 413 unread */
} srv_http_handler;

/* One connection's protocol state, without I/O: conn.c reads into `in` and writes `out`. */
typedef struct srv_http_conn {
    const srv_http_handler *handler;
    char *in;
    size_t in_len;
    size_t scan;     /* where the search for the head's end resumes */
    size_t head_len; /* the current request's head, once parsed */
    srv_req req;
    srv_buf out;
    struct ssl_st *ssl;      /* given to every request (client certificate) */
    char peer[SRV_PEER_MAX]; /* given to every request; "-" when unknown */
    int over_cap;            /* answer the first request 503 */
    int sent_continue;
    int closing; /* the last response is queued: close once `out` is written */
    int paused;  /* stopped with SRV_HTTP_OUT_MAX queued: serve again once `out` is written */
} srv_http_conn;
/* Answer every complete request at the front of `in` into `out` through h->handler, in order,
 * and remove it from `in`; stops at an incomplete one (queuing "100 Continue" if it asked), when
 * the connection must close, or (`paused`) when SRV_HTTP_OUT_MAX bytes are queued — a client
 * that pipelines without reading gets no more than that buffered. Returns the number of
 * requests answered. */
size_t srv_http_serve(srv_http_conn *h);

/* --- tls_key.c ----------------------------------------------------------- */

/* Use `key` as the TLS private key of `ssl`: a PEM file, or a key URI (pkcs11:…, tpm2:…) whose
 * private part stays in its token (through the hwjose OpenSSL provider). 1 on success; on
 * failure OpenSSL's error queue says why. */
int srv_tls_use_key(struct ssl_ctx_st *ssl, const char *key);
/* The library context a tls.key URI is opened in: the service's own, before the first TLS
 * context is built (one context per process, or a token outage is never recovered from:
 * docs/pkcs11.md, Faults). */
void srv_tls_key_ctx(hwj_ctx *ctx);

/* --- auth.c -------------------------------------------------------------- */

/* The client named by the credentials — the Authorization header's value (or NULL) and the TLS
 * connection whose verified client certificate may name one under mTLS (or NULL) — or NULL;
 * *had_credentials says whether any were presented. */
const srv_client_conf *srv_auth_client(const srv_config *cfg, const char *authorization,
                                       struct ssl_st *tls, int *had_credentials);
/* Bearer token → client (constant-time compare against every client). */
const srv_client_conf *srv_auth_token(const srv_config *cfg, const char *token, size_t len);

/* --- audit*.c (docs/audit.md) ------------------------------------------------ */

/* One audited event. Only hashes and names: never a bearer token, a PIN or a plaintext. */
typedef struct srv_audit_event {
    const char *op;     /* "jwt", "sign", "decrypt", "rotate", "reload" */
    const char *result; /* "ok", "denied:<code>", "error:<code>", "rejected" */
    const char *client, *key, *kid, *alg;
    const uint8_t *payload; /* hashed into payload_sha256; NULL: none */
    size_t payload_len;
    const srv_req *req;    /* request id, peer, TLS client subject; NULL: none */
    const char *jti, *sub; /* /jwt: what was minted (jti NULL: not a JWT) */
    int64_t exp;
    const char *config_sha256; /* reload: the config file's content hash */
} srv_audit_event;

/* Open the log (reading only its tail), the audit key, and start the timer thread. */
int srv_audit_open(hwj_ctx *ctx, const srv_config *cfg, char *msg, size_t msglen);
/* Flush denial summaries, write the final checkpoint, close. */
void srv_audit_close(void);
/* Append one record; 0 only when it is on disk (flushed, fsync'd if configured); otherwise
 * the file still ends on a whole record. */
int srv_audit_record(const srv_audit_event *e);
/* 1 (msg names the member) when `next` changes an audit setting only a restart applies. */
int srv_audit_config_changed(const srv_config *cur, const srv_config *next, char *msg,
                             size_t msglen);
/* Count an unauthenticated denial against its source (summarised on a timer). */
void srv_audit_unauthenticated(const srv_req *req);
/* A reload record carrying the SHA-256 of the config file's content. */
int srv_audit_reload(const char *config_path, int ok);

/* audit_verify.c: check log files (rotated and from several replicas) for `hwjose audit
 * verify`. Prints a report to `out`; 0 intact, 1 tampered or truncated, -1 unusable input
 * (msg). `jwks_json`: the audit key's public JWKS (NULL: chains only); `last_checkpoint`: the
 * newest checkpoints exported off the host, compact JWSs separated by white space (NULL: none). */
int srv_audit_verify(const char *const *paths, size_t npaths, const char *jwks_json,
                     const char *last_checkpoint, FILE *out, char *msg, size_t msglen);
void srv_sha256_hex(const void *data, size_t len, char out[65]);
/* SHA-256, fetched once (core/digest.h). */
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
    SRV_ROUTE_ROTATE,
    SRV_ROUTE_DISCOVERY,
    SRV_ROUTE_LIVEZ,
    SRV_ROUTE_READYZ,
    SRV_ROUTE_COUNT_
} srv_route;

void srv_metrics_request(srv_route route, int status, double seconds);
void srv_metrics_error(const char *code);
void srv_metrics_token_op(const char *op, double seconds, int ok);
/* The Prometheus text; `token_reinits` is the backends' count (srv_versions_token_reinits). */
char *srv_metrics_render(uint64_t token_reinits);
/* A SIGHUP reload applied (ok) or rejected. */
void srv_metrics_reload(int ok);
/* The config's generation: 1 at start, +1 per applied reload (shown by /readyz). */
int64_t srv_metrics_config_generation(void);
/* An audit record written (ok) or not. */
void srv_metrics_audit_write(int ok);
/* A token module re-initialised after it kept failing (the PKCS#11 recovery path). */
/* A key operation's audited result ("ok", "denied:<code>", "error:<code>": counted by prefix). */
void srv_metrics_key_op(const char *key, const char *op, const char *result);
double srv_now_seconds(void);
/* Unix seconds from the precise realtime clock. Key versions change at whole seconds; time()
 * may read the coarse clock, a few milliseconds behind, so a replica would serve the previous
 * second's JWKS just after a boundary while a precise clock elsewhere reads the new one. */
int64_t srv_unix_now(void);

/* --- routes.c / http.c --------------------------------------------------- */

/* The API (routes*.c), as the HTTP layer's handler: answer one complete request against the
 * current state; answer an HTTP-level refusal with the API's JSON error. `arg` is unused. */
void srv_handle(void *arg, srv_req *req);
void srv_reply_refused(void *arg, srv_req *req, int status);
/* Run until SIGTERM/SIGINT. `config_path` is re-read on SIGHUP. Returns an exit code. */
int srv_run(const char *config_path);

/* --- tls.c -------------------------------------------------------------- */

/* The TLS server context of cfg's tls section (cfg->tls_cert set), or NULL with msg naming the
 * file that failed and OpenSSL's reason. */
struct ssl_ctx_st *srv_tls_ctx_new(const srv_config *cfg, char *msg, size_t msglen);
/* A TLS call on a connection failed (SSL_ERROR_SSL): when the TLS key did (its token or TPM
 * failed in the handshake), say so in the log, at most every 10 s; clears the error queue. */
void srv_tls_failed(void);
/* The context new connections get, replaced on reload (connections keep theirs). */
typedef struct srv_tls_slot srv_tls_slot;
srv_tls_slot *srv_tls_slot_new(struct ssl_ctx_st *ctx);          /* takes the reference */
void srv_tls_slot_swap(srv_tls_slot *s, struct ssl_ctx_st *ctx); /* takes it, drops the old */
struct ssl_st *srv_tls_slot_ssl_new(srv_tls_slot *s);            /* a connection, or NULL */
void srv_tls_slot_free(srv_tls_slot *s);

/* --- check.c: `hwjose serve --check-config` ----------------------------------- */

/* Parse and validate the config at `path`, then open what the service would: the TLS files, the
 * audit log's place, every key (its `uri`, and each version the store holds when the store
 * exists). Every problem is handed to `say`; nothing listens and nothing is created. Returns the
 * number of problems. */
int srv_check_config(const char *path, void (*say)(void *arg, const char *problem), void *arg);

/* --- conn.c: connections on one worker's event base -------------------------- */

typedef struct srv_worker srv_worker;
typedef struct srv_conn_limits {
    const srv_http_handler *handler; /* requests, refusals and the body limit */
    /* Read for every new deadline and connection, so that a reload changes them at once. */
    const atomic_int *timeout; /* seconds: a whole request, an idle keep-alive, a stalled write */
    const atomic_uint *max_conns; /* across all workers; past it: 503 and close */
    srv_tls_slot *tls;            /* TLS server context (swapped on reload), or NULL: plain HTTP */
} srv_conn_limits;

/* A worker serving connections accepted on `listen_fd` on `base` (thread of its own). */
srv_worker *srv_worker_new(struct event_base *base, int listen_fd, const srv_conn_limits *lim);
/* Close every connection and the listener (call after the loop has stopped). */
void srv_worker_free(srv_worker *w);

#endif
