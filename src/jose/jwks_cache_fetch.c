/* jwks_cache_fetch.c: the HTTP side of the JWKS cache — URL rules and one bounded GET
 * with libcurl. No redirects, no compression, no protocol but http(s), a body cap that
 * aborts the transfer, timeouts, and only the headers a cache needs (ETag,
 * Cache-Control, Age). */
#include "core/error.h"
#include "jose/jwks_cache_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ETAG_MAX 256

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

hwj_err jc_global_init(hwj_error *err)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return hwj_error_set_native(err, HWJ_ERR_NETWORK, HWJ_SRC_CURL, (unsigned long)global_rc,
                                    "libcurl failed to initialise: %s",
                                    curl_easy_strerror(global_rc));
    return HWJ_OK;
}

/* localhost, 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. `host` as CURLU gives it
 * (IPv6 in brackets). Names other than "localhost" are not loopback: DNS could say anything. */
static int host_is_loopback(const char *host)
{
    char buf[64];
    struct in_addr a4;
    struct in6_addr a6;
    size_t n = strlen(host);

    if (strcasecmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (n >= 2 && n - 2 < sizeof(buf) && host[0] == '[' && host[n - 1] == ']') {
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        if (inet_pton(AF_INET6, buf, &a6) != 1)
            return 0;
        if (IN6_IS_ADDR_LOOPBACK(&a6))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
    }
    return 0;
}

hwj_err jc_url_check(const char *url, const char *what, int allow_http, int *loopback,
                     hwj_error *err)
{
    CURLU *u = NULL;
    char *scheme = NULL, *host = NULL, *user = NULL;
    CURLUcode uc;
    hwj_err rc = HWJ_OK;

    if ((u = curl_url()) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if ((uc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK) {
        rc = hwj_error_set(err, HWJ_ERR_ARG, "%s '%s' is not a valid URL: %s", what, url,
                           curl_url_strerror(uc));
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
        rc = hwj_error_set(err, HWJ_ERR_ARG, "%s '%s' needs a scheme", what, url);
        goto out;
    }
    if (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0) {
        rc = hwj_error_set(err, HWJ_ERR_POLICY, "%s '%s': scheme '%s' is not allowed; use https",
                           what, url, scheme);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
        rc = hwj_error_set(err, HWJ_ERR_ARG, "%s '%s' needs a host", what, url);
        goto out;
    }
    /* Credentials in the URL would end up in every error message and log line. */
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        rc = hwj_error_set(err, HWJ_ERR_POLICY,
                           "%s must not carry credentials (user@host): it is public", what);
        goto out;
    }
    *loopback = host_is_loopback(host);
    if (strcasecmp(scheme, "https") == 0)
        goto out;
    if (!*loopback && !allow_http)
        rc = hwj_error_set(err, HWJ_ERR_POLICY,
                           "%s '%s': plain http is only allowed to a loopback host "
                           "(keys fetched over http can be replaced in transit); use https, or "
                           "allow http explicitly (allow_http) on a network you trust",
                           what, url);
out:
    curl_free(user);
    curl_free(host);
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

typedef struct body_buf {
    char *p;
    size_t len, cap, max;
    int oversize;
} body_buf;

/* Returning less than offered aborts the transfer with CURLE_WRITE_ERROR. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    body_buf *b = ud;
    size_t n = size * nmemb;

    if (n > b->max - b->len) {
        b->oversize = 1;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > b->max + 1)
            cap = b->max + 1;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

/* An ETag we can send back verbatim: printable ASCII, bounded (it goes into a header). */
static char *etag_copy(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > ETAG_MAX)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x21 || v[i] > 0x7e)
            return NULL;
    return strdup(v);
}

/* Parse one Cache-Control value: the smallest max-age wins; no-store/no-cache set the flag. */
static void cache_control(const char *v, int64_t *max_age, int *no_store)
{
    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        const char *tok = v;
        while (*v && *v != ',')
            v++;
        size_t n = (size_t)(v - tok);
        while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
            n--;
        if ((n == 8 && strncasecmp(tok, "no-store", 8) == 0) ||
            (n == 8 && strncasecmp(tok, "no-cache", 8) == 0)) {
            *no_store = 1;
        } else if (n > 8 && strncasecmp(tok, "max-age=", 8) == 0) {
            const char *d = tok + 8, *e = tok + n;
            int64_t s = 0;
            if (d < e && *d == '"' && e[-1] == '"' && e - d >= 2) {
                d++;
                e--;
            }
            if (d == e)
                continue;
            for (; d < e && isdigit((unsigned char)*d); d++)
                s = s > (INT64_MAX - 9) / 10 ? INT64_MAX / 2 : s * 10 + (*d - '0');
            if (d == e && (*max_age < 0 || s < *max_age))
                *max_age = s;
        }
    }
}

static void read_headers(CURL *curl, jc_response *res)
{
    struct curl_header *h = NULL;
    int64_t age = 0;

    res->max_age = -1;
    if (curl_easy_header(curl, "ETag", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
        res->etag = etag_copy(h->value);
    for (size_t i = 0;; i++) {
        if (curl_easy_header(curl, "Cache-Control", i, CURLH_HEADER, -1, &h) != CURLHE_OK)
            break;
        cache_control(h->value, &res->max_age, &res->no_store);
        if (i + 1 >= h->amount)
            break;
    }
    if (res->max_age > 0 && curl_easy_header(curl, "Age", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) {
        char *end;
        long long a = strtoll(h->value, &end, 10);
        if (end != h->value && *end == '\0' && a > 0)
            age = a;
        res->max_age = age >= res->max_age ? 0 : res->max_age - age;
    }
}

void jc_response_clear(jc_response *res)
{
    free(res->body);
    free(res->etag);
    memset(res, 0, sizeof(*res));
}

hwj_err jc_fetch(CURL *curl, const jc_fetch_cfg *cfg, const char *etag, jc_response *res,
                 hwj_error *err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    char hdr[ETAG_MAX + 32];
    struct curl_slist *headers = NULL;
    body_buf body = {.max = cfg->max_size};
    jc_response r = {0};
    CURLcode cc;
    long status = 0;
    hwj_err rc = HWJ_OK;
    const char *what = cfg->what != NULL ? cfg->what : "JWKS";

    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, cfg->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, cfg->allow_plain_http ? "http,https" : "https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cfg->max_size);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "hwjose/" HWJ_VERSION_STRING);
    if (cfg->ca_file != NULL)
        curl_easy_setopt(curl, CURLOPT_CAINFO, cfg->ca_file);
    if (cfg->loopback) /* a proxy from the environment must not see loopback traffic */
        curl_easy_setopt(curl, CURLOPT_PROXY, "");
    if (etag != NULL) {
        snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
        if ((headers = curl_slist_append(NULL, hdr)) == NULL) {
            rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    headers = curl_slist_append(headers, "Accept: application/jwk-set+json, application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

    cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (body.oversize || cc == CURLE_FILESIZE_EXCEEDED) {
        rc = hwj_error_set_native(err, HWJ_ERR_LIMIT, HWJ_SRC_CURL, (unsigned long)cc,
                                  "%s at '%s' is larger than %zu bytes; the transfer was "
                                  "aborted (raise max_size if the issuer really publishes so "
                                  "large a document)",
                                  what, cfg->url, cfg->max_size);
        goto out;
    }
    if (cc != CURLE_OK) {
        rc = hwj_error_set_native(err, HWJ_ERR_NETWORK, HWJ_SRC_CURL, (unsigned long)cc,
                                  "fetching %s from '%s' failed: %s (curl error %d)", what,
                                  cfg->url, errbuf[0] ? errbuf : curl_easy_strerror(cc), (int)cc);
        goto out;
    }
    if (status >= 300 && status < 400 && status != 304) {
        char *loc = NULL;
        curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &loc);
        rc = hwj_error_set(err, HWJ_ERR_NETWORK,
                           "%s at '%s' answered HTTP %ld redirecting to '%s'; redirects are "
                           "not followed: configure the final URL",
                           what, cfg->url, status, loc ? loc : "?");
        goto out;
    }
    if (status != 200 && !(status == 304 && etag != NULL)) {
        rc = hwj_error_set(err, HWJ_ERR_NETWORK, "%s at '%s' answered HTTP %ld; expected 200", what,
                           cfg->url, status);
        goto out;
    }
    r.status = status;
    read_headers(curl, &r);
    if (status == 200) {
        if (body.p == NULL && (body.p = calloc(1, 1)) == NULL) {
            rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
            goto out;
        }
        r.body = body.p;
        r.len = body.len;
        body.p = NULL;
    }
    *res = r;
    memset(&r, 0, sizeof(r));
out:
    jc_response_clear(&r);
    free(body.p);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(headers);
    return rc;
}
