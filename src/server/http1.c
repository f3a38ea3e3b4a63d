/* http1.c: HTTP/1.1 request heads (RFC 9112) and responses, without I/O.
 *
 * Strict where framing is concerned, because a parser that accepts what a proxy in front
 * of it reads differently is how requests get smuggled: lines end in CRLF only, no
 * obs-fold, no whitespace before a field's colon, one Content-Length (repeats only with the
 * same value), no Transfer-Encoding in a request (411: bodies carry a Content-Length), one
 * Host in HTTP/1.1. Anything else is refused and the connection is closed. Nothing here
 * allocates: the request line and fields are NUL-terminated in the caller's buffer and kept
 * as offsets. */
#include "core/rand_pool.h"
#include "server/server.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int srv_buf_append(srv_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap - b->len < n)
            cap *= 2;
        char *d = OPENSSL_clear_realloc(b->data, b->cap, cap); /* answers may be plaintexts */
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void srv_buf_free(srv_buf *b)
{
    OPENSSL_clear_free(b->data, b->cap);
    *b = (srv_buf){0};
}

/* RFC 9110 §5.6.2 tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A field value's characters: VCHAR, obs-text, SP, HTAB (no CTLs, no NUL). */
static int is_field_char(unsigned char c)
{
    return c == ' ' || c == '\t' || (c > 0x20 && c != 0x7f);
}

size_t srv_http_head_end(const char *buf, size_t len, size_t from)
{
    size_t i = 0;
    while (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n') /* leading empty lines */
        i += 2;
    if (from > i)
        i = from;
    /* Every LF must end a CRLF; the head ends at the first CRLF CRLF. */
    for (const char *lf; i < len && (lf = memchr(buf + i, '\n', len - i)) != NULL;) {
        size_t at = (size_t)(lf - buf);
        if (at == 0 || buf[at - 1] != '\r')
            return SRV_HTTP_BARE_LF;
        if (at >= 3 && memcmp(buf + at - 3, "\r\n\r\n", 4) == 0)
            return at + 1;
        i = at + 1;
    }
    return 0;
}

/* Whether the comma-separated list `v` holds `token` (case-insensitive). */
static int list_has(const char *v, const char *token)
{
    size_t tl = strlen(token);
    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        size_t n = strcspn(v, ",");
        size_t e = n;
        while (e && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e == tl && strncasecmp(v, token, tl) == 0)
            return 1;
        v += n;
    }
    return 0;
}

/* Content-Length: 1*DIGIT, at most 15 digits (far past any body limit, far from overflow). */
static int parse_length(const char *v, size_t *out)
{
    size_t n = 0, i = 0;
    for (; v[i]; i++) {
        if (v[i] < '0' || v[i] > '9' || i == 15)
            return -1;
        n = n * 10 + (size_t)(v[i] - '0');
    }
    if (i == 0)
        return -1;
    *out = n;
    return 0;
}

/* The field just parsed: framing and connection semantics. 0 or an HTTP status. */
/* What the fields say about framing, counted across the head. */
typedef struct head_facts {
    int hosts, lengths, close;
} head_facts;

static int interpret(srv_req *req, const char *name, const char *value, head_facts *f)
{
    if (strcasecmp(name, "content-length") == 0) {
        size_t n;
        if (parse_length(value, &n) != 0 || (f->lengths && n != req->content_length))
            return 400;
        req->content_length = n;
        f->lengths++;
    } else if (strcasecmp(name, "transfer-encoding") == 0) {
        return 411;
    } else if (strcasecmp(name, "host") == 0) {
        /* RFC 9112 §3.2: uri-host [ ":" port ] — reg-name, IPv4 or [IP-literal] characters */
        if (value[strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                "-._~!$&'()*+,;=%:[]")] != '\0')
            return 400;
        f->hosts++;
    } else if (strcasecmp(name, "connection") == 0) {
        if (list_has(value, "close"))
            f->close = 1; /* wins over any keep-alive, in this field or another */
        else if (list_has(value, "keep-alive"))
            req->keep_alive = 1;
    } else if (strcasecmp(name, "expect") == 0 && req->minor >= 1) {
        if (strcasecmp(value, "100-continue") != 0)
            return 417;
        req->expect_continue = 1;
    }
    return 0;
}

int srv_http_parse_head(char *buf, size_t len, srv_req *req)
{
    size_t i = 0;
    head_facts f = {0};
    if (len < 4 || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0)
        return 400;
    while (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n')
        i += 2;

    /* request-line = method SP request-target SP HTTP-version CRLF */
    size_t m0 = i;
    while (i < len && is_tchar((unsigned char)buf[i]))
        i++;
    if (i == m0 || i - m0 > 16 || buf[i] != ' ')
        return 400;
    size_t ml = i - m0;
    req->method = ml == 3 && memcmp(buf + m0, "GET", 3) == 0    ? SRV_METHOD_GET
                  : ml == 4 && memcmp(buf + m0, "HEAD", 4) == 0 ? SRV_METHOD_HEAD
                  : ml == 4 && memcmp(buf + m0, "POST", 4) == 0 ? SRV_METHOD_POST
                                                                : SRV_METHOD_OTHER;
    size_t t0 = ++i;
    while (i < len && (unsigned char)buf[i] > 0x20 && (unsigned char)buf[i] < 0x7f)
        i++;
    if (i == t0 || buf[i] != ' ')
        return 400;
    if (i - t0 > SRV_HTTP_MAX_TARGET)
        return 414;
    if (buf[t0] != '/' && !(i - t0 == 1 && buf[t0] == '*'))
        return 400; /* origin-form only (and OPTIONS' asterisk-form) */
    buf[i++] = '\0';
    char *q = memchr(buf + t0, '?', i - t0);
    if (q)
        *q = '\0';
    req->path_off = (uint32_t)t0;
    if (len - i < 10 || memcmp(buf + i, "HTTP/", 5) != 0 || buf[i + 5] < '0' || buf[i + 5] > '9' ||
        buf[i + 6] != '.' || buf[i + 7] < '0' || buf[i + 7] > '9' || buf[i + 8] != '\r' ||
        buf[i + 9] != '\n')
        return 400;
    if (buf[i + 5] != '1')
        return 505;
    req->minor = buf[i + 7] - '0';
    req->keep_alive = req->minor >= 1;
    i += 10;

    /* *( field-line CRLF ) CRLF */
    while (i + 1 < len && !(buf[i] == '\r' && buf[i + 1] == '\n')) {
        size_t n0 = i;
        while (i < len && is_tchar((unsigned char)buf[i]))
            i++;
        if (i == n0 || buf[i] != ':') /* also: obs-fold, whitespace before the colon */
            return 400;
        buf[i++] = '\0';
        while (buf[i] == ' ' || buf[i] == '\t')
            i++;
        size_t v0 = i;
        while (i < len && buf[i] != '\r' && buf[i] != '\n') {
            if (!is_field_char((unsigned char)buf[i]))
                return 400;
            i++;
        }
        if (i + 1 >= len || buf[i] != '\r' || buf[i + 1] != '\n')
            return 400; /* a bare CR or LF */
        size_t v1 = i;
        while (v1 > v0 && (buf[v1 - 1] == ' ' || buf[v1 - 1] == '\t'))
            v1--;
        buf[v1] = '\0';
        i += 2;
        if (req->nfields == SRV_HTTP_MAX_FIELDS)
            return 431;
        req->field_off[req->nfields][0] = (uint32_t)n0;
        req->field_off[req->nfields][1] = (uint32_t)v0;
        req->nfields++;
        int st = interpret(req, buf + n0, buf + v0, &f);
        if (st)
            return st;
    }
    if (i + 2 != len)
        return 400;
    if (f.hosts > 1 || (req->minor >= 1 && f.hosts != 1))
        return 400; /* RFC 9112 §3.2: exactly one Host in HTTP/1.1, never two */
    if (f.close)
        req->keep_alive = 0;
    req->base = buf;
    return 0;
}

const char *srv_req_path(const srv_req *req)
{
    return req->base + req->path_off;
}

const char *srv_req_header(const srv_req *req, const char *name)
{
    for (size_t i = 0; i < req->nfields; i++)
        if (strcasecmp(req->base + req->field_off[i][0], name) == 0)
            return req->base + req->field_off[i][1];
    return NULL;
}

size_t srv_req_header_count(const srv_req *req, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < req->nfields; i++)
        n += strcasecmp(req->base + req->field_off[i][0], name) == 0;
    return n;
}

int srv_req_add_header(srv_req *req, const char *name, const char *value)
{
    size_t room = sizeof(req->extra) - req->extra_len;
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return -1;
    int n = snprintf(req->extra + req->extra_len, room, "%s: %s\r\n", name, value);
    if (n < 0 || (size_t)n >= room) {
        req->extra[req->extra_len] = '\0';
        return -1;
    }
    req->extra_len += (size_t)n;
    if (strcasecmp(name, "Cache-Control") == 0)
        req->has_cache_control = 1;
    return 0;
}

/* The Date field's value (RFC 9110 §5.6.7 IMF-fixdate), formatted once a second per thread
 * and without the locale. */
static const char *http_date(void)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static _Thread_local time_t last = -1;
    static _Thread_local char text[32];
    time_t now = time(NULL);
    if (now != last) {
        struct tm tm;
        gmtime_r(&now, &tm);
        snprintf(text, sizeof(text), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
                 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        last = now;
    }
    return text;
}

int srv_req_reply(srv_req *req, int status, const char *reason, const char *ctype,
                  const srv_piece *body, size_t npieces)
{
    size_t len = 0;
    for (size_t i = 0; i < npieces; i++)
        len += body[i].len;
    char head[1024];
    int no_body = status == 304 || status < 200;
    if (req->replied)
        return -1; /* one answer per request */
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nDate: %s\r\nX-Content-Type-Options: nosniff\r\n"
                     "X-Request-Id: %s\r\n%s%s%s%s",
                     status, reason, http_date(), req->id, ctype ? "Content-Type: " : "",
                     ctype ? ctype : "", ctype ? "\r\n" : "",
                     req->has_cache_control ? "" : "Cache-Control: no-store\r\n");
    if (n < 0 || (size_t)n >= sizeof(head))
        return -1;
    size_t hl = (size_t)n;
    const char *conn = !req->keep_alive  ? "Connection: close\r\n"
                       : req->minor == 0 ? "Connection: keep-alive\r\n"
                                         : "";
    n = no_body ? snprintf(head + hl, sizeof(head) - hl, "%s", conn)
                : snprintf(head + hl, sizeof(head) - hl, "Content-Length: %zu\r\n%s", len, conn);
    if (n < 0 || (size_t)n >= sizeof(head) - hl)
        return -1;
    hl += (size_t)n;
    size_t len0 = req->out->len;
    int with_body = !no_body && req->method != SRV_METHOD_HEAD;
    req->replied = 1;
    int failed = srv_buf_append(req->out, head, hl) != 0 ||
                 srv_buf_append(req->out, req->extra, req->extra_len) != 0 ||
                 srv_buf_append(req->out, "\r\n", 2) != 0;
    for (size_t i = 0; with_body && !failed && i < npieces; i++)
        failed = srv_buf_append(req->out, body[i].data, body[i].len) != 0;
    if (failed) {
        req->out->len = len0; /* no partial response: the connection is closed instead */
        req->keep_alive = 0;
        return -1;
    }
    return 0;
}

static void new_request(srv_http_conn *h)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[SRV_REQ_ID_LEN / 2] = {0};
    h->req = (srv_req){.base = h->in,
                       .minor = 1,
                       .keep_alive = 1,
                       .ssl = h->ssl,
                       .peer = h->peer[0] ? h->peer : "-",
                       .out = &h->out};
    /* The draw fails only without entropy, which the service checked at start-up; the id
     * is then all zeros, still a well-formed id. */
    (void)hwj_rand_public(r, sizeof(r)); /* public once answered: no DRBG draw per request */
    for (size_t i = 0; i < sizeof(r); i++) {
        h->req.id[2 * i] = hex[r[i] >> 4];
        h->req.id[2 * i + 1] = hex[r[i] & 15];
    }
}

/* An HTTP-level refusal of h->req (fresh or half-parsed: a HEAD keeps its body-less answer);
 * the connection closes after it. */
static void refuse(srv_http_conn *h, int status)
{
    h->req.keep_alive = 0;
    h->req.minor = 1;
    h->req.extra_len = 0;
    h->req.replied = 0;
    h->handler->refuse(h->handler->arg, &h->req, status);
    h->closing = 1;
}

size_t srv_http_serve(srv_http_conn *h)
{
    size_t served = 0;
    h->paused = 0;
    while (!h->closing) {
        if (h->out.len >= SRV_HTTP_OUT_MAX) {
            h->paused = 1;
            break;
        }
        if (!h->head_len) {
            size_t end = srv_http_head_end(h->in, h->in_len, h->scan);
            if (!end || end == SRV_HTTP_BARE_LF) {
                if (end || h->in_len > SRV_HTTP_MAX_HEAD) {
                    new_request(h);
                    refuse(h, end ? 400 : 431);
                }
                h->scan = h->in_len > 3 ? h->in_len - 3 : 0;
                break;
            }
            new_request(h);
            int st = end > SRV_HTTP_MAX_HEAD ? 431 : srv_http_parse_head(h->in, end, &h->req);
            if (st == 0 && h->over_cap)
                st = 503;
            if (st == 0 && h->req.content_length >
                               atomic_load_explicit(h->handler->max_body, memory_order_relaxed))
                st = 413;
            if (st) {
                refuse(h, st);
                break;
            }
            h->head_len = end;
        }
        size_t total = h->head_len + h->req.content_length;
        if (h->in_len < total) {
            if (h->req.expect_continue && !h->sent_continue) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                if (srv_buf_append(&h->out, cont, sizeof(cont) - 1) != 0)
                    h->closing = 1;
                h->sent_continue = 1;
            }
            break;
        }
        h->req.base = h->in;
        h->req.body = (const uint8_t *)h->in + h->head_len;
        h->req.body_len = h->req.content_length;
        h->handler->handle(h->handler->arg, &h->req);
        served++;
        if (!h->req.keep_alive || !h->req.replied)
            h->closing = 1;
        /* The request (bearer token, body) is done: move the rest up, wipe the tail it left. */
        memmove(h->in, h->in + total, h->in_len - total);
        h->in_len -= total;
        OPENSSL_cleanse(h->in + h->in_len, total);
        h->head_len = h->scan = 0;
        h->sent_continue = 0;
    }
    return served;
}
