/* metrics.c: Prometheus text exposition of request counts by route and status,
 * request latency, errors by code, token operation latency, reloads, audit writes, token
 * re-initialisations, operations per key and the build. Every fixed counter is a
 * relaxed atomic (sums in nanoseconds), so workers never wait on each other here; a
 * scrape reads each counter once and may see a request counted in one series and not
 * yet in another, which Prometheus tolerates. */
#include "server/server.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const route_names[SRV_ROUTE_COUNT_] = {
    "jwt",     "sign",  "decrypt", "jwks",      "keys",  "healthz",
    "metrics", "other", "rotate",  "discovery", "livez", "readyz"};
static const int statuses[] = {200, 304, 400, 401, 403, 404, 405, 409, 413, 500, 503};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBUCKET (sizeof(buckets) / sizeof(buckets[0]))

typedef struct hist {
    atomic_ullong b[NBUCKET];
    atomic_ullong count;
    atomic_ullong sum_ns;
} hist;

static const char *const err_codes[] = {"bad_request",
                                        "invalid_json",
                                        "unauthorized",
                                        "forbidden",
                                        "not_found",
                                        "method_not_allowed",
                                        "key_not_active",
                                        "payload_too_large",
                                        "claim_not_allowed",
                                        "decryption_failed",
                                        "too_many_connections",
                                        "token_unavailable",
                                        "internal",
                                        "audit_unavailable",
                                        "other"};
#define NERR (sizeof(err_codes) / sizeof(err_codes[0]))
static const char *const token_ops[] = {"sign", "decrypt", "health"};
#define NOPS (sizeof(token_ops) / sizeof(token_ops[0]))

static atomic_ullong req_count[SRV_ROUTE_COUNT_][NSTATUS + 1];
static hist req_hist[SRV_ROUTE_COUNT_];
static atomic_ullong err_count[NERR];
static hist op_hist[NOPS];
static atomic_ullong op_fail[NOPS];
static atomic_ullong reloads[2], audit_writes[2]; /* [0] failed, [1] ok */

/* Operations per key, op and result: keys come and go with reloads, so a short list under a
 * lock (taken once per key operation, next to a token round trip), bounded in length. */
typedef struct key_op {
    char key[128], op[16], result[16];
    unsigned long long n;
} key_op;
enum { MAX_KEY_OPS = 1024 };
static pthread_mutex_t key_ops_lock = PTHREAD_MUTEX_INITIALIZER;
static key_op *key_ops;
static size_t nkey_ops, cap_key_ops;

#define BUMP(c) atomic_fetch_add_explicit(&(c), 1, memory_order_relaxed)
#define READ(c) atomic_load_explicit(&(c), memory_order_relaxed)

int64_t srv_unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

double srv_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hist_add(hist *h, double v)
{
    for (size_t i = 0; i < NBUCKET; i++)
        if (v <= buckets[i])
            BUMP(h->b[i]);
    BUMP(h->count);
    atomic_fetch_add_explicit(&h->sum_ns, v > 0 ? (unsigned long long)(v * 1e9) : 0,
                              memory_order_relaxed);
}

void srv_metrics_request(srv_route route, int status, double seconds)
{
    size_t si = NSTATUS;
    for (size_t i = 0; i < NSTATUS; i++)
        if (statuses[i] == status)
            si = i;
    BUMP(req_count[route][si]);
    hist_add(&req_hist[route], seconds);
}

void srv_metrics_error(const char *code)
{
    size_t i = 0;
    while (i < NERR - 1 && strcmp(err_codes[i], code) != 0)
        i++;
    BUMP(err_count[i]);
}

void srv_metrics_token_op(const char *op, double seconds, int ok)
{
    size_t i = 0;
    while (i < NOPS - 1 && strcmp(token_ops[i], op) != 0)
        i++;
    hist_add(&op_hist[i], seconds);
    if (!ok)
        BUMP(op_fail[i]);
}

void srv_metrics_reload(int ok)
{
    BUMP(reloads[ok != 0]);
}

int64_t srv_metrics_config_generation(void)
{
    return 1 + (int64_t)READ(reloads[1]);
}

void srv_metrics_audit_write(int ok)
{
    BUMP(audit_writes[ok != 0]);
}

void srv_metrics_key_op(const char *key, const char *op, const char *result)
{
    char res[16];
    if (!key || !op || !result)
        return;
    /* "denied:forbidden" → "denied": the code is already in hwjose_http_errors_total. */
    snprintf(res, sizeof(res), "%.*s", (int)strcspn(result, ":"), result);
    pthread_mutex_lock(&key_ops_lock);
    size_t i = 0;
    while (i < nkey_ops && (strcmp(key_ops[i].key, key) != 0 || strcmp(key_ops[i].op, op) != 0 ||
                            strcmp(key_ops[i].result, res) != 0))
        i++;
    if (i == nkey_ops && nkey_ops < MAX_KEY_OPS && strlen(key) < sizeof(key_ops->key) &&
        strlen(op) < sizeof(key_ops->op)) {
        if (nkey_ops == cap_key_ops) {
            size_t cap = cap_key_ops ? 2 * cap_key_ops : 16;
            key_op *n = realloc(key_ops, cap * sizeof(*n));
            if (n) {
                key_ops = n;
                cap_key_ops = cap;
            }
        }
        if (nkey_ops < cap_key_ops) {
            key_op *e = &key_ops[nkey_ops++];
            snprintf(e->key, sizeof(e->key), "%s", key);
            snprintf(e->op, sizeof(e->op), "%s", op);
            snprintf(e->result, sizeof(e->result), "%s", res);
            e->n = 0;
        }
    }
    if (i < nkey_ops)
        key_ops[i].n++;
    pthread_mutex_unlock(&key_ops_lock);
}

/* A label value as the exposition format quotes it. */
static void put_label(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', f);
        if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static void put_ops(FILE *f)
{
    fprintf(f, "# HELP hwjose_key_operations_total Key operations by key, op and result "
               "(ok, denied, error).\n"
               "# TYPE hwjose_key_operations_total counter\n");
    pthread_mutex_lock(&key_ops_lock);
    for (size_t i = 0; i < nkey_ops; i++) {
        fputs("hwjose_key_operations_total{key=\"", f);
        put_label(f, key_ops[i].key);
        fprintf(f, "\",op=\"%s\",result=\"%s\"} %llu\n", key_ops[i].op, key_ops[i].result,
                key_ops[i].n);
    }
    pthread_mutex_unlock(&key_ops_lock);
}

static void put_ok_failed(FILE *f, const char *name, const char *help, atomic_ullong c[2])
{
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    fprintf(f, "%s{result=\"ok\"} %llu\n%s{result=\"failed\"} %llu\n", name, READ(c[1]), name,
            READ(c[0]));
}

static void put_hist(FILE *f, const char *name, const char *label, const char *value, const hist *h)
{
    for (size_t i = 0; i < NBUCKET; i++)
        fprintf(f, "%s_bucket{%s=\"%s\",le=\"%g\"} %llu\n", name, label, value, buckets[i],
                READ(h->b[i]));
    unsigned long long count = READ(h->count);
    fprintf(f, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n", name, label, value, count);
    fprintf(f, "%s_sum{%s=\"%s\"} %.6f\n", name, label, value, (double)READ(h->sum_ns) / 1e9);
    fprintf(f, "%s_count{%s=\"%s\"} %llu\n", name, label, value, count);
}

char *srv_metrics_render(uint64_t token_reinits)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "# HELP hwjose_http_requests_total HTTP requests by route and status.\n"
               "# TYPE hwjose_http_requests_total counter\n");
    for (int r = 0; r < SRV_ROUTE_COUNT_; r++)
        for (size_t s = 0; s <= NSTATUS; s++)
            if (READ(req_count[r][s])) {
                if (s < NSTATUS)
                    fprintf(f, "hwjose_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                            route_names[r], statuses[s], READ(req_count[r][s]));
                else
                    fprintf(f, "hwjose_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                            route_names[r], READ(req_count[r][s]));
            }
    fprintf(f, "# HELP hwjose_http_request_duration_seconds Request latency by route.\n"
               "# TYPE hwjose_http_request_duration_seconds histogram\n");
    for (int r = 0; r < SRV_ROUTE_COUNT_; r++)
        if (READ(req_hist[r].count))
            put_hist(f, "hwjose_http_request_duration_seconds", "route", route_names[r],
                     &req_hist[r]);
    fprintf(f, "# HELP hwjose_http_errors_total Error responses by JSON error code.\n"
               "# TYPE hwjose_http_errors_total counter\n");
    for (size_t i = 0; i < NERR; i++)
        fprintf(f, "hwjose_http_errors_total{code=\"%s\"} %llu\n", err_codes[i],
                READ(err_count[i]));
    fprintf(f, "# HELP hwjose_token_op_duration_seconds Key operation latency (token/TPM).\n"
               "# TYPE hwjose_token_op_duration_seconds histogram\n");
    for (size_t i = 0; i < NOPS; i++)
        put_hist(f, "hwjose_token_op_duration_seconds", "op", token_ops[i], &op_hist[i]);
    fprintf(f, "# HELP hwjose_token_op_failures_total Failed key operations.\n"
               "# TYPE hwjose_token_op_failures_total counter\n");
    for (size_t i = 0; i < NOPS; i++)
        fprintf(f, "hwjose_token_op_failures_total{op=\"%s\"} %llu\n", token_ops[i],
                READ(op_fail[i]));
    put_ok_failed(f, "hwjose_reloads_total", "Config reloads (SIGHUP), applied or rejected.",
                  reloads);
    put_ok_failed(f, "hwjose_audit_writes_total", "Audit records written, or failed to write.",
                  audit_writes);
    fprintf(f,
            "# HELP hwjose_token_reinits_total Token modules re-initialised after failures.\n"
            "# TYPE hwjose_token_reinits_total counter\n"
            "hwjose_token_reinits_total %llu\n",
            (unsigned long long)token_reinits);
    put_ops(f);
    fprintf(f,
            "# HELP hwjose_build_info The running build.\n"
            "# TYPE hwjose_build_info gauge\n"
            "hwjose_build_info{version=\"%s\"} 1\n",
            hwj_version());
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
