/* audit.c: the audit trail's record API and policy (docs/audit.md). One JSON line per key
 * operation, authenticated denial and reload, each numbered ("seq") and chained to the one
 * before ("prev", the SHA-256 of the previous line); written — flushed, fdatasync'd unless
 * configured off — before the response leaves. Unauthenticated denials are only counted and
 * summarised per source on a timer (audit_flood.c). With an audit key, a signed checkpoint
 * seals the head every N records, every T seconds, before a rotation and at shutdown. */
#include "server/audit_int.h"
#include "server/log.h"
#include "server/server.h"
#include "server/store.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
static audit_log lg = {.fd = -1};
static char *instance;
static unsigned cp_records;  /* checkpoint after this many records (0: not by count) */
static int64_t cp_seconds;   /* and this long after the last one (0: not by time) */
static int64_t denial_every; /* seconds between unauthenticated-denial summaries */
static unsigned since_cp;    /* records since the last checkpoint */
static int64_t last_cp;

static pthread_t timer;
static int timer_running, timer_stop;
static pthread_mutex_t timer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_cond = PTHREAD_COND_INITIALIZER;

/* --- record text: formatted without JSON objects (this runs once per request) ------------ */

typedef struct audit_buf {
    char *p;
    size_t n, cap;
    int heap, failed;
    char stack[2048];
} audit_buf;

static void abuf_init(audit_buf *b)
{
    b->p = b->stack;
    b->n = 0;
    b->cap = sizeof(b->stack);
    b->heap = b->failed = 0;
    b->p[0] = '\0';
}

static void abuf_free(audit_buf *b)
{
    if (b->heap)
        free(b->p);
    abuf_init(b);
}

static int reserve(audit_buf *b, size_t more)
{
    if (b->failed)
        return 0;
    if (b->n + more + 1 <= b->cap)
        return 1;
    size_t cap = (b->n + more + 1) * 2;
    char *p = b->heap ? realloc(b->p, cap) : malloc(cap);
    if (!p) {
        b->failed = 1;
        return 0;
    }
    if (!b->heap)
        memcpy(p, b->p, b->n + 1);
    b->p = p;
    b->cap = cap;
    b->heap = 1;
    return 1;
}

static void put(audit_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

/* Escaped as Jansson would: quote, backslash and control characters. */
static void abuf_str(audit_buf *b, const char *name, const char *v)
{
    static const char hex[] = "0123456789abcdef";
    put(b, ",\"", 2);
    put(b, name, strlen(name));
    put(b, "\":", 2);
    if (!v) {
        put(b, "null", 4);
        return;
    }
    put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
        if (*p == '"' || *p == '\\') {
            esc[1] = (char)*p;
            put(b, esc, 2);
        } else if (*p < 0x20) {
            put(b, esc, 6);
        } else {
            put(b, (const char *)p, 1);
        }
    }
    put(b, "\"", 1);
}

static void abuf_int(audit_buf *b, const char *name, int64_t v)
{
    char t[64];
    int n = snprintf(t, sizeof(t), ",\"%s\":%lld", name, (long long)v);
    put(b, t, (size_t)n);
}

static void now_rfc3339(char out[40])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* --- writing (under audit_lock) ----------------------------------------------------------- */

/* {"v":2,"time":...,"instance":... — the members before "seq". */
/* `when`: the record's time (NULL: now). */
static int append(const audit_buf *members, const char *when)
{
    audit_buf pre;
    char ts[40];
    abuf_init(&pre);
    if (when)
        snprintf(ts, sizeof(ts), "%s", when);
    else
        now_rfc3339(ts);
    put(&pre, "{\"v\":2", 6);
    abuf_str(&pre, "time", ts);
    abuf_str(&pre, "instance", instance);
    int rc = pre.failed || members->failed ? -1 : alog_append(&lg, pre.p, members->p, members->n);
    abuf_free(&pre);
    return rc;
}

static int checkpoint_locked(void)
{
    char ts[40];
    audit_buf m;
    now_rfc3339(ts);
    char *jws = aseal_sign(instance, lg.seq, lg.head, ts);
    if (!jws)
        return -1;
    abuf_init(&m);
    abuf_str(&m, "type", "checkpoint");
    abuf_str(&m, "checkpoint", jws);
    int rc = append(&m, ts); /* the time it signs */
    if (rc == 0) {
        aseal_ship(instance, lg.seq - 1, jws);
        since_cp = 0;
        last_cp = (int64_t)time(NULL);
    }
    abuf_free(&m);
    hwj_free(jws);
    return rc;
}

/* Append, then seal and rotate when due. A failed checkpoint or rotation is reported and
 * retried at the next record; the record itself is on disk. */
static int write_record(const audit_buf *m)
{
    pthread_mutex_lock(&audit_lock);
    int rc = append(m, NULL);
    if (rc == 0) {
        since_cp++;
        if (aseal_enabled() && ((cp_records && since_cp >= cp_records) || alog_rotate_due(&lg)) &&
            checkpoint_locked() != 0)
            srv_log(SRV_LOG_ERR, NULL, "audit checkpoint failed; retried later");
        if (alog_rotate_due(&lg) && alog_rotate(&lg) != 0)
            srv_log(SRV_LOG_ERR, NULL, "audit log rotation failed; retried later");
    }
    pthread_mutex_unlock(&audit_lock);
    srv_metrics_audit_write(rc == 0);
    return rc;
}

/* The RFC 2253 subject of the request's TLS client certificate, or NULL (caller frees). */
static char *tls_subject(const srv_req *req)
{
    X509 *cert = req && req->ssl ? SSL_get0_peer_certificate(req->ssl) : NULL;
    BIO *bio = cert ? BIO_new(BIO_s_mem()) : NULL;
    char *out = NULL, *data = NULL;
    if (bio && X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
        long n = BIO_get_mem_data(bio, &data);
        if (n >= 0 && (out = malloc((size_t)n + 1))) {
            memcpy(out, data, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(bio);
    return out;
}

int srv_audit_record(const srv_audit_event *e)
{
    char ph[65];
    audit_buf m;
    char *subject = tls_subject(e->req);
    abuf_init(&m);
    abuf_str(&m, "type", "event");
    abuf_str(&m, "client", e->client);
    abuf_str(&m, "op", e->op);
    abuf_str(&m, "key", e->key);
    abuf_str(&m, "kid", e->kid);
    abuf_str(&m, "alg", e->alg);
    if (e->payload)
        srv_sha256_hex(e->payload, e->payload_len, ph);
    abuf_str(&m, "payload_sha256", e->payload ? ph : NULL);
    abuf_str(&m, "result", e->result);
    abuf_str(&m, "request_id", e->req ? e->req->id : NULL);
    abuf_str(&m, "peer", e->req ? e->req->peer : NULL);
    abuf_str(&m, "tls_subject", subject);
    if (e->jti) {
        abuf_str(&m, "jti", e->jti);
        abuf_str(&m, "sub", e->sub);
        abuf_int(&m, "exp", e->exp);
    }
    if (e->config_sha256)
        abuf_str(&m, "config_sha256", e->config_sha256);
    int rc = write_record(&m);
    abuf_free(&m);
    free(subject);
    return rc;
}

static int differ(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

int srv_audit_config_changed(const srv_config *cur, const srv_config *next, char *msg,
                             size_t msglen)
{
    const char *what =
        differ(cur->audit_path, next->audit_path) ? "path"
        : cur->audit_fsync != next->audit_fsync   ? "fsync"
        : cur->audit_max_bytes != next->audit_max_bytes || cur->audit_keep != next->audit_keep
            ? "max_bytes/keep"
        : differ(cur->audit_key, next->audit_key) ||
                cur->audit_insecure_software_key != next->audit_insecure_software_key
            ? "key"
        : cur->audit_checkpoint_records != next->audit_checkpoint_records ||
                cur->audit_checkpoint_seconds != next->audit_checkpoint_seconds ||
                cur->audit_denial_seconds != next->audit_denial_seconds
            ? "checkpoint_records/checkpoint_interval/denial_interval"
            : NULL;
    if (what)
        snprintf(msg, msglen, "config audit.%s: changing the audit settings needs a restart", what);
    return what != NULL;
}

void srv_audit_unauthenticated(const srv_req *req)
{
    aflood_count(req ? req->peer : NULL);
}

int srv_audit_reload(const char *config_path, int ok)
{
    char hash[65];
    const char *h = NULL;
    FILE *f = fopen(config_path, "rb");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t buf[8192], d[32];
    unsigned dl = 0;
    /* The content, not the path: two configs at one path are two different configs. */
    if (f && md && EVP_DigestInit_ex(md, srv_sha256(), NULL)) {
        size_t n;
        int good = 1;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
            good &= EVP_DigestUpdate(md, buf, n);
        if (good && !ferror(f) && EVP_DigestFinal_ex(md, d, &dl)) {
            for (int i = 0; i < 32; i++)
                snprintf(hash + 2 * i, 3, "%02x", d[i]);
            h = hash;
        }
    }
    EVP_MD_CTX_free(md);
    if (f)
        fclose(f);
    srv_audit_event e = {.op = "reload", .result = ok ? "ok" : "rejected", .config_sha256 = h};
    return srv_audit_record(&e);
}

/* --- the timer: denial summaries, time-based checkpoints ---------------------------------- */

static void emit_denials(void *arg, const char *source, uint64_t count, int64_t since,
                         int64_t until)
{
    audit_buf m;
    (void)arg;
    abuf_init(&m);
    abuf_str(&m, "type", "denials");
    abuf_str(&m, "result", "denied:unauthorized");
    abuf_str(&m, "source", source);
    abuf_int(&m, "count", (int64_t)count);
    abuf_int(&m, "since", since);
    abuf_int(&m, "until", until);
    if (write_record(&m) != 0)
        srv_log(SRV_LOG_ERR, NULL, "audit log write failed for a denial summary");
    abuf_free(&m);
}

static void *timer_main(void *arg)
{
    (void)arg;
    int64_t last_flush = (int64_t)time(NULL);
    pthread_mutex_lock(&timer_lock);
    while (!timer_stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&timer_cond, &timer_lock, &until);
        if (timer_stop)
            break;
        pthread_mutex_unlock(&timer_lock);
        int64_t now = (int64_t)time(NULL);
        if (now - last_flush >= denial_every) {
            aflood_flush(emit_denials, NULL);
            last_flush = now;
        }
        pthread_mutex_lock(&audit_lock);
        if (aseal_enabled() && cp_seconds && since_cp > 0 && now - last_cp >= cp_seconds &&
            checkpoint_locked() != 0)
            srv_log(SRV_LOG_ERR, NULL, "audit checkpoint failed; retried later");
        pthread_mutex_unlock(&audit_lock);
        aseal_flush_store();
        pthread_mutex_lock(&timer_lock);
    }
    pthread_mutex_unlock(&timer_lock);
    return NULL;
}

/* The file must not end before the newest checkpoint the store holds for this instance: else
 * sealed records were cut off (or the file replaced), and continuing would reuse their seqs and
 * replace the store's checkpoint with one that seals the shortened chain. 0, or -1 (msg). A store
 * that cannot be read is a warning: checkpoints are written to it later, and the log continues. */
static int check_store_checkpoint(const char *url, const char *path, char *msg, size_t msglen)
{
    srv_store *st = NULL;
    int64_t seq = -1;
    char m[512];
    if (srv_store_open(url, "hwjose-audit", &st, m, sizeof(m)) != SRV_STORE_OK ||
        srv_store_audit_checkpoint_seq(st, instance, &seq, m, sizeof(m)) != SRV_STORE_OK) {
        srv_log(SRV_LOG_WARNING, NULL,
                "audit: cannot compare the log with the store's checkpoint: %s", m);
        srv_store_close(st);
        return 0;
    }
    srv_store_close(st);
    if (seq < 0 || lg.seq >= (uint64_t)seq + 1)
        return 0;
    snprintf(msg, msglen,
             "audit log '%s' ends at seq %llu, but the store holds a checkpoint of instance '%s' "
             "sealing seq %lld: sealed records were removed or the file replaced; check the files "
             "with `hwjose audit verify --last-checkpoint` (docs/audit.md) and restore them",
             path, (unsigned long long)lg.seq, instance, (long long)seq);
    return -1;
}

int srv_audit_open(hwj_ctx *ctx, const srv_config *cfg, char *msg, size_t msglen)
{
    if (!(instance = strdup(cfg->instance ? cfg->instance : "-"))) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    cp_records = cfg->audit_checkpoint_records;
    cp_seconds = cfg->audit_checkpoint_seconds;
    denial_every = cfg->audit_denial_seconds > 0 ? cfg->audit_denial_seconds : 60;
    since_cp = 0;
    last_cp = (int64_t)time(NULL);
    if (aseal_open(ctx, cfg->audit_key, cfg->audit_insecure_software_key, msg, msglen) != 0 ||
        aseal_store(cfg->store_url) != 0)
        goto fail;
    if (alog_open(&lg, cfg->audit_path, cfg->audit_fsync, cfg->audit_max_bytes, cfg->audit_keep,
                  msg, msglen) != 0)
        goto fail;
    if (cfg->store_url && check_store_checkpoint(cfg->store_url, cfg->audit_path, msg, msglen) != 0)
        goto fail;
    timer_stop = 0;
    if (pthread_create(&timer, NULL, timer_main, NULL) != 0) {
        snprintf(msg, msglen, "audit: cannot start the timer thread");
        goto fail;
    }
    timer_running = 1;
    return 0;
fail:
    alog_close(&lg);
    aseal_close();
    free(instance);
    instance = NULL;
    return -1;
}

void srv_audit_close(void)
{
    if (timer_running) {
        pthread_mutex_lock(&timer_lock);
        timer_stop = 1;
        pthread_cond_signal(&timer_cond);
        pthread_mutex_unlock(&timer_lock);
        pthread_join(timer, NULL);
        timer_running = 0;
    }
    if (lg.fd >= 0) {
        aflood_flush(emit_denials, NULL);
        /* The final checkpoint: the whole file is sealed at a clean stop. */
        pthread_mutex_lock(&audit_lock);
        if (aseal_enabled() && since_cp > 0 && checkpoint_locked() != 0)
            srv_log(SRV_LOG_ERR, NULL, "the final audit checkpoint failed");
        pthread_mutex_unlock(&audit_lock);
    }
    alog_close(&lg);
    aseal_close();
    free(instance);
    instance = NULL;
}
