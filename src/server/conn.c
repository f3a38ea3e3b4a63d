/* conn.c: connections on one worker's event base, plain or TLS.
 *
 * Why not evhttp: under keep-alive load it spent per request an ioctl(FIONREAD), two
 * epoll_ctl (write interest on, then off), an extra loop turn before writing, and ~40
 * allocations (request, URI, every header) — measured at about a quarter of the service's
 * CPU beside the token operation (docs/benchmarks.md). Here a request costs one read and
 * one write: the read event stays armed, the response is written at once, and write
 * interest is taken only when the socket's buffer is full (or TLS asks for it). Buffers
 * belong to the connection and are reused across its requests.
 *
 * A connection has one deadline: accepting it or finishing a request sets it `timeout` ahead;
 * a whole request (TLS handshake, head and body) must arrive before it, so a slow sender
 * cannot hold a connection open byte by byte; a write that makes progress moves it on. A
 * once-a-second sweep closes connections past it. Past `max_conns` open connections a new
 * one is answered 503 on its first request and closed (a few dozen such at a time; beyond
 * that it is closed at once). A response that closes the connection is followed by a
 * half-close and a short drain of the input, so a client still sending sees the answer
 * rather than a reset. */
#include "server/server.h"

#include <errno.h>
#include <limits.h>
#include <event2/event.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { REJECT_MAX = 64, DRAIN_SECONDS = 2, IN_INITIAL = 4096, READS_PER_WAKEUP = 16 };

typedef struct conn conn;

struct srv_worker {
    struct event_base *base;
    struct event *lis; /* the shared listening socket, one accept per wake-up */
    struct event *sweep;
    int lis_paused;
    srv_conn_limits lim;
    conn *conns;
};

struct conn {
    srv_worker *w;
    conn *prev, *next;
    evutil_socket_t fd;
    SSL *ssl;
    struct event *rev, *wev;
    int rev_on, wev_on;
    srv_http_conn h; /* input, output and the request being read */
    size_t in_cap, out_off;
    double deadline;
    int draining, read_wants_write, write_wants_read;
};

static atomic_uint g_conns;   /* admitted connections, all workers */
static atomic_uint g_rejects; /* connections kept only to answer 503 */

static double conn_timeout(const srv_worker *w)
{
    return atomic_load_explicit(w->lim.timeout, memory_order_relaxed);
}

static void conn_close(conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    atomic_fetch_sub(c->h.over_cap ? &g_rejects : &g_conns, 1);
    event_free(c->rev);
    event_free(c->wev);
    SSL_free(c->ssl);
    ERR_clear_error(); /* this thread's queue: nothing of a peer's failure stays behind */
    close(c->fd);
    srv_buf_free(&c->h.out);
    OPENSSL_clear_free(c->h.in, c->in_cap); /* tokens and bodies of the last requests */
    free(c);
}

static void set_event(struct event *ev, int *on, int want)
{
    if (want != *on) {
        if (want)
            event_add(ev, NULL);
        else
            event_del(ev);
        *on = want;
    }
}

/* Read interest unless output is stuck (the client must take its answers before it sends
 * more); write interest while output waits for room, or when TLS needs either. */
static void update_events(conn *c)
{
    int pending = c->out_off < c->h.out.len;
    /* a read that waits for room to write must not be retried on every readable wake-up */
    set_event(c->rev, &c->rev_on, (!pending && !c->read_wants_write) || c->write_wants_read);
    set_event(c->wev, &c->wev_on, (pending && !c->write_wants_read) || c->read_wants_write);
}

/* A TLS call that returned `r` <= 0 while doing `same` (SSL_ERROR_WANT_READ for a read, _WRITE
 * for a write): 0 to wait (*other set when it waits for the other direction), -1 failed. */
static int tls_wait(SSL *ssl, int r, int same, int *other)
{
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_SSL)
        srv_tls_failed();
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
        return -1;
    *other = e != same;
    return 0;
}

/* Write what is pending. 0: all written or the socket is full; -1: the connection is gone. */
static int flush_out(conn *c)
{
    c->write_wants_read = 0;
    while (c->out_off < c->h.out.len) {
        size_t n = c->h.out.len - c->out_off;
        const char *p = c->h.out.data + c->out_off;
        if (c->ssl) {
            ERR_clear_error(); /* SSL_get_error reads this thread's queue: only this call's */
            int r = SSL_write(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
            if (r <= 0)
                return tls_wait(c->ssl, r, SSL_ERROR_WANT_WRITE, &c->write_wants_read);
            c->out_off += (size_t)r;
        } else {
            ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return 0;
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return -1;
            c->out_off += (size_t)r;
        }
        c->deadline = srv_now_seconds() + conn_timeout(c->w);
    }
    OPENSSL_cleanse(c->h.out.data, c->h.out.len); /* written: answers may be plaintexts */
    c->h.out.len = c->out_off = 0;
    return 0;
}

/* Read into the input buffer. >0 bytes, 0 nothing now, -1 closed or failed. `full` is set
 * when the read filled the space it had (more may be waiting). */
static ssize_t read_in(conn *c, int *full)
{
    if (c->in_cap - c->h.in_len < 1024) {
        /* Room for a head, the largest body, and the next head; at least for the request
         * whose head was accepted (a reload may have lowered the limit since). */
        size_t hard = 2 * SRV_HTTP_MAX_HEAD +
                      atomic_load_explicit(c->w->lim.handler->max_body, memory_order_relaxed);
        if (c->h.head_len && hard < c->h.head_len + c->h.req.content_length + SRV_HTTP_MAX_HEAD)
            hard = c->h.head_len + c->h.req.content_length + SRV_HTTP_MAX_HEAD;
        size_t cap = c->in_cap ? 2 * c->in_cap : IN_INITIAL;
        if (c->in_cap < hard) {
            char *p = OPENSSL_clear_realloc(c->h.in, c->in_cap, cap < hard ? cap : hard);
            if (!p)
                return -1;
            c->h.in = p; /* the request's strings are offsets: they survive the move */
            c->in_cap = cap < hard ? cap : hard;
        }
    }
    size_t room = c->in_cap - c->h.in_len;
    *full = 0;
    if (room == 0)
        return -1; /* cannot happen (see above); never wait on a socket we cannot read */
    c->read_wants_write = 0;
    if (c->ssl) {
        ERR_clear_error();
        int r = SSL_read(c->ssl, c->h.in + c->h.in_len, room > INT_MAX ? INT_MAX : (int)room);
        if (r <= 0)
            return tls_wait(c->ssl, r, SSL_ERROR_WANT_READ, &c->read_wants_write);
        c->h.in_len += (size_t)r;
        *full = (size_t)r == room || SSL_pending(c->ssl) > 0;
        return r;
    }
    ssize_t r;
    do
        r = recv(c->fd, c->h.in + c->h.in_len, room, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (r <= 0)
        return -1;
    c->h.in_len += (size_t)r;
    *full = (size_t)r == room;
    return r;
}

/* After the last response: half-close, then read and drop until the peer closes. */
static void start_drain(conn *c)
{
    double limit = srv_now_seconds() + DRAIN_SECONDS;
    c->draining = 1;
    c->h.in_len = 0;
    if (c->ssl) {
        ERR_clear_error();
        SSL_shutdown(c->ssl);
    }
    shutdown(c->fd, SHUT_WR);
    if (limit < c->deadline)
        c->deadline = limit;
}

/* Serve the connection until it would block: write what waits, read, answer. A request
 * that arrives in one piece costs one read and one write. At most READS_PER_WAKEUP reads per
 * wake-up, so one client's pipelined stream cannot starve the worker's other connections. */
static void conn_run(conn *c)
{
    for (int reads = 0;;) {
        if (flush_out(c) != 0)
            goto gone;
        if (c->out_off < c->h.out.len)
            break; /* the socket is full: wait for room before reading or answering more */
        if (c->h.closing && !c->draining)
            start_drain(c);
        if (c->h.paused && !c->h.closing) { /* requests left from the output cap */
            if (reads >= READS_PER_WAKEUP) {
                event_active(c->rev, EV_READ, 0); /* the rest next loop turn */
                break;
            }
            reads++;
            if (srv_http_serve(&c->h) > 0)
                c->deadline = srv_now_seconds() + conn_timeout(c->w);
            continue;
        }
        if (reads++ >= READS_PER_WAKEUP)
            break; /* level-triggered: the socket's data is still there next turn */
        int full = 0;
        ssize_t r = read_in(c, &full);
        if (r < 0)
            goto gone;
        if (c->draining) {
            c->h.in_len = 0;
            if (r == 0)
                break;
            continue;
        }
        if (r == 0)
            break;
        if (srv_http_serve(&c->h) > 0) /* a new request, or an idle wait, starts now */
            c->deadline = srv_now_seconds() + conn_timeout(c->w);
        if (!full && !c->h.closing && !c->h.paused) {
            if (flush_out(c) != 0)
                goto gone;
            break; /* level-triggered: the event says when more arrives */
        }
    }
    update_events(c);
    return;
gone:
    conn_close(c);
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_run(arg);
}

/* The client's address as audit records and logs name it: "ip:port", "[ip6]:port". */
static void peer_name(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "-";
    unsigned port = 0;
    int v6 = ss->ss_family == AF_INET6;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        port = ntohs(s4->sin_port);
    } else if (v6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        port = ntohs(s6->sin6_port);
    } else {
        snprintf(out, len, "-");
        return;
    }
    snprintf(out, len, v6 ? "[%s]:%u" : "%s:%u", ip, port);
}

/* One connection per wake-up, not all that are queued: every worker is woken for the shared
 * socket, so a burst of connections (a client pool opening at once) spreads over the workers
 * instead of landing on whichever thread woke first. */
static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    srv_worker *w = arg;
    int one = 1, over = 0;
    conn *c = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    evutil_socket_t fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        /* Out of descriptors or memory: the socket stays readable, so stop listening until the
         * next sweep rather than spin on it. EAGAIN: another worker took it. */
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            event_del(w->lis);
            w->lis_paused = 1;
        }
        return;
    }
    if (atomic_fetch_add(&g_conns, 1) >=
        atomic_load_explicit(w->lim.max_conns, memory_order_relaxed)) {
        atomic_fetch_sub(&g_conns, 1);
        if (atomic_fetch_add(&g_rejects, 1) >= REJECT_MAX) {
            atomic_fetch_sub(&g_rejects, 1);
            close(fd);
            return;
        }
        over = 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (!(c = calloc(1, sizeof(*c))))
        goto fail;
    c->w = w;
    c->fd = fd;
    c->h.handler = w->lim.handler;
    c->h.over_cap = over;
    peer_name(&ss, c->h.peer, sizeof(c->h.peer));
    c->deadline = srv_now_seconds() + (over ? DRAIN_SECONDS : conn_timeout(w));
    if (w->lim.tls && (!(c->ssl = srv_tls_slot_ssl_new(w->lim.tls)) || SSL_set_fd(c->ssl, fd) != 1))
        goto fail;
    if (c->ssl) {
        c->h.ssl = c->ssl;
        SSL_set_accept_state(c->ssl);
        SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }
    if (!(c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_io, c)) ||
        !(c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, on_io, c)))
        goto fail;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    update_events(c);
    return;
fail:
    if (c) {
        if (c->rev)
            event_free(c->rev);
        SSL_free(c->ssl);
        ERR_clear_error();
        free(c);
    }
    atomic_fetch_sub(over ? &g_rejects : &g_conns, 1);
    close(fd);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    srv_worker *w = arg;
    double now = srv_now_seconds();
    if (w->lis_paused && event_add(w->lis, NULL) == 0)
        w->lis_paused = 0;
    for (conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (now > c->deadline)
            conn_close(c);
    }
}

srv_worker *srv_worker_new(struct event_base *base, int listen_fd, const srv_conn_limits *lim)
{
    srv_worker *w = calloc(1, sizeof(*w));
    struct timeval second = {1, 0};
    if (!w)
        return NULL;
    w->base = base;
    w->lim = *lim;
    if (!(w->lis = event_new(base, listen_fd, EV_READ | EV_PERSIST, on_accept, w)) ||
        event_add(w->lis, NULL) != 0 ||
        !(w->sweep = event_new(base, -1, EV_PERSIST, on_sweep, w)) ||
        event_add(w->sweep, &second) != 0) {
        srv_worker_free(w);
        return NULL;
    }
    return w;
}

void srv_worker_free(srv_worker *w)
{
    if (!w)
        return;
    while (w->conns)
        conn_close(w->conns);
    if (w->sweep)
        event_free(w->sweep);
    if (w->lis)
        event_free(w->lis);
    free(w);
}
