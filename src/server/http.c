/* http.c: the listener, worker threads, reloads and signals.
 *
 * One listening socket; each worker thread runs its own event_base with its own listener
 * on that socket (conn.c), so accepted connections spread over the workers and a request
 * is served start to finish on one thread (the key operation included: hwj_key operations
 * are thread-safe and each backend pools its sessions). The main thread only handles
 * signals: SIGHUP reloads the config (keys, limits and the TLS context), SIGTERM/SIGINT stop. */
#include "server/log.h"
#include "server/notify.h"
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct worker {
    pthread_t thread;
    struct event_base *base;
    srv_worker *conns;
} worker;

static hwj_ctx *g_ctx;
static const char *g_config_path;
static srv_tls_slot *g_tls;
static worker *g_workers;
static unsigned g_nworkers;

static void *worker_main(void *arg)
{
    worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

/* One event base per worker (locked: the main thread breaks its loop on shutdown); epoll's
 * changelist folds interest changes made in one loop turn into one epoll_ctl. */
static struct event_base *worker_base(void)
{
    struct event_config *ec = event_config_new();
    struct event_base *b = NULL;
    if (ec && event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0)
        b = event_base_new_with_config(ec);
    event_config_free(ec);
    return b ? b : event_base_new();
}

/* The HTTP layer's handler: the API's routes, and the running config's body limit, kept in an
 * atomic so that reading it per request head takes no lock. */
static atomic_size_t g_max_body;
static const srv_http_handler g_handler = {
    .handle = srv_handle, .refuse = srv_reply_refused, .max_body = &g_max_body};

/* The limits of the state just installed (at start and after each reload): the next request
 * head, connection and deadline read them, and the access log switch. */
static atomic_int g_timeout;
static atomic_uint g_max_conns;
static void limits_apply(void)
{
    srv_state *st = srv_state_acquire();
    if (st) {
        atomic_store_explicit(&g_max_body, st->cfg->max_body, memory_order_relaxed);
        srv_log_set_access(st->cfg->access_log);
        atomic_store_explicit(&g_timeout, st->cfg->timeout_seconds, memory_order_relaxed);
        atomic_store_explicit(&g_max_conns, st->cfg->max_connections, memory_order_relaxed);
    }
    srv_state_release(st);
}

static int worker_init(worker *w, int fd)
{
    srv_conn_limits lim = {
        .handler = &g_handler, .timeout = &g_timeout, .max_conns = &g_max_conns, .tls = g_tls};
    if (!(w->base = worker_base()) || !(w->conns = srv_worker_new(w->base, fd, &lim)))
        return -1;
    return 0;
}

/* The TLS context of `cfg` (NULL *out when it has no tls section). */
static int tls_new(const srv_config *cfg, SSL_CTX **out, char *msg, size_t msglen)
{
    *out = NULL;
    if (!cfg->tls_cert)
        return 0;
    return (*out = srv_tls_ctx_new(cfg, msg, msglen)) ? 0 : -1;
}

/* SIGHUP: the new config, checked, its TLS context and its state built, then both swapped in;
 * any failure keeps everything old serving. */
static int reload(char *msg, size_t msglen)
{
    srv_config *cfg = NULL;
    SSL_CTX *ssl = NULL;
    if (srv_config_load(g_config_path, &cfg, msg, msglen))
        return -1;
    if (srv_reload_check(cfg, msg, msglen) || tls_new(cfg, &ssl, msg, msglen)) {
        srv_config_free(cfg);
        return -1;
    }
    if (srv_versions_install(cfg, msg, msglen) != 0) { /* consumes cfg */
        SSL_CTX_free(ssl);
        return -1;
    }
    if (ssl)
        srv_tls_slot_swap(g_tls, ssl);
    limits_apply();
    return 0;
}

static int listen_socket(const srv_config *cfg, char *where, size_t wlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char port[8];
    int fd = -1, one = 1;
    snprintf(port, sizeof(port), "%u", cfg->port);
    int gai = getaddrinfo(cfg->listen_host, port, &hints, &ai);
    if (gai) {
        srv_log(SRV_LOG_ERR, NULL, "listen '%s': %s", cfg->listen_host, gai_strerror(gai));
        return -1;
    }
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        srv_log(SRV_LOG_ERR, NULL, "listen %s:%s: %s", cfg->listen_host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[64] = "?";
    unsigned short p = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            host[0] = '[';
            inet_ntop(AF_INET6, &s6->sin6_addr, host + 1, sizeof(host) - 2);
            strcat(host, "]");
            p = ntohs(s6->sin6_port);
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
            p = ntohs(s4->sin_port);
        }
    }
    snprintf(where, wlen, "%s://%s:%u", cfg->tls_cert ? "https" : "http", host, p);
    return fd;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct event_base *main_base = arg;
    if (sig == SIGHUP) {
        char msg[1024];
        srv_notify_reloading();
        int ok = reload(msg, sizeof(msg)) == 0;
        srv_metrics_reload(ok);
        if (ok)
            srv_log(SRV_LOG_NOTICE, NULL, "reloaded %s", g_config_path);
        else
            srv_log(SRV_LOG_ERR, NULL, "reload rejected, still serving the old config: %s", msg);
        /* Key lifecycle changes belong in the audit trail too. */
        if (srv_audit_reload(g_config_path, ok) != 0)
            srv_log(SRV_LOG_ERR, NULL, "audit log write failed for a reload");
        /* Ready again either way: a rejected reload leaves the old config serving. */
        srv_notify("READY=1\nSTATUS=%s (config generation %lld)",
                   ok ? "serving, reloaded" : "serving, last reload rejected",
                   (long long)srv_metrics_config_generation());
        return;
    }
    srv_notify("STOPPING=1\nSTATUS=stopping");
    srv_log(SRV_LOG_NOTICE, NULL, "stopping");
    for (unsigned i = 0; i < g_nworkers; i++)
        event_base_loopbreak(g_workers[i].base);
    event_base_loopbreak(main_base);
}

int srv_run(const char *config_path)
{
    char msg[1024], where[96];
    srv_config *cfg = NULL;
    srv_state *st = NULL;
    struct event_base *main_base = NULL;
    struct event *sigs[3] = {0};
    int fd = -1, rc = 1;
    unsigned started = 0;

    /* Keep secrets (PINs, session state) out of core dumps and ptrace. */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    signal(SIGPIPE, SIG_IGN);

    g_config_path = config_path;
    srv_log_init();
    if (srv_config_load(config_path, &cfg, msg, sizeof(msg))) {
        srv_log(SRV_LOG_ERR, NULL, "%s", msg);
        return 2;
    }
    hwj_error err = {0};
    if (hwj_ctx_new(&g_ctx, &err) != HWJ_OK) {
        srv_log(SRV_LOG_ERR, NULL, "%s", err.message);
        srv_config_free(cfg);
        return 1;
    }
    srv_tls_key_ctx(g_ctx);
    if (srv_audit_open(g_ctx, cfg, msg, sizeof(msg))) {
        srv_log(SRV_LOG_ERR, NULL, "%s", msg);
        srv_config_free(cfg);
        goto out;
    }
    /* The store is needed to start (there is no cache yet); later it may come and go. */
    if (srv_versions_start(g_ctx, cfg, msg, sizeof(msg)) != 0) {
        srv_log(SRV_LOG_ERR, NULL, "%s", msg);
        goto out;
    }
    st = srv_state_acquire(); /* its config, for what only a restart changes */
    cfg = st->cfg;
    limits_apply();
    if (srv_versions_run() != 0)
        goto out;
    if (evthread_use_pthreads() != 0)
        goto out;
    if (cfg->tls_cert) {
        SSL_CTX *ssl = NULL;
        if (tls_new(cfg, &ssl, msg, sizeof(msg)) != 0) {
            srv_log(SRV_LOG_ERR, NULL, "%s", msg);
            goto out;
        }
        if (!(g_tls = srv_tls_slot_new(ssl))) {
            SSL_CTX_free(ssl);
            goto out;
        }
    }
    if ((fd = listen_socket(cfg, where, sizeof(where))) < 0)
        goto out;
    g_nworkers = cfg->workers;
    if (!(g_workers = calloc(g_nworkers, sizeof(*g_workers))) || !(main_base = event_base_new()))
        goto out;
    for (unsigned i = 0; i < g_nworkers; i++)
        if (worker_init(&g_workers[i], fd) != 0) {
            srv_log(SRV_LOG_ERR, NULL, "cannot set up worker %u", i);
            goto out;
        }
    int signums[3] = {SIGHUP, SIGTERM, SIGINT};
    for (int i = 0; i < 3; i++)
        if (!(sigs[i] = evsignal_new(main_base, signums[i], on_signal, main_base)) ||
            event_add(sigs[i], NULL) != 0)
            goto out;
    for (; started < g_nworkers; started++)
        if (pthread_create(&g_workers[started].thread, NULL, worker_main, &g_workers[started]) != 0)
            goto out;
    srv_log(SRV_LOG_NOTICE, NULL, "listening on %s (%u workers, %zu keys, audit log %s)", where,
            g_nworkers, cfg->nkeys, cfg->audit_path);
    srv_notify("READY=1\nSTATUS=serving on %s (%zu keys)\nMAINPID=%ld", where, cfg->nkeys,
               (long)getpid());
    event_base_dispatch(main_base);
    rc = 0;
out:
    for (unsigned i = 0; i < started; i++) {
        event_base_loopbreak(g_workers[i].base);
        pthread_join(g_workers[i].thread, NULL);
    }
    for (unsigned i = 0; g_workers && i < g_nworkers; i++) {
        srv_worker_free(g_workers[i].conns);
        if (g_workers[i].base)
            event_base_free(g_workers[i].base);
    }
    free(g_workers);
    g_workers = NULL;
    for (int i = 0; i < 3; i++)
        if (sigs[i])
            event_free(sigs[i]);
    if (main_base)
        event_base_free(main_base);
    if (fd >= 0)
        close(fd);
    srv_versions_stop();
    srv_state_release(st);
    srv_state_install(NULL);
    srv_audit_close();
    srv_tls_slot_free(g_tls);
    g_tls = NULL;
    hwj_ctx_free(g_ctx);
    g_ctx = NULL;
    return rc;
}
