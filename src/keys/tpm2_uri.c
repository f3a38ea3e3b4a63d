/* tpm2_uri.c: tpm2: key URIs.
 *
 *   tpm2:handle=0x81000010[?tcti=T&auth-source=file:PATH]
 *   tpm2:file=/path/key.pem[?tcti=T&auth-source=file:PATH]
 *   tpm2:[?tcti=T]                      (a TPM as a whole, for listing)
 *
 * The syntax follows RFC 7512's shape (path attributes separated by ';', query after '?'
 * separated by '&', %-encoding) so that a tpm2: URI reads like a pkcs11: one. A TCTI string
 * (swtpm:host=127.0.0.1,port=2321) needs no escaping in the query. */
#include "keys/tpm2_internal.h"

#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define URI_FORM                                                                                   \
    "tpm2:handle=0x81xxxxxx or tpm2:file=PATH, optionally followed by "                            \
    "?tcti=swtpm:host=H,port=P&auth-source=file:PATH"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A %-decoded copy of s[0..n). NULL on bad escapes or an embedded NUL. */
static char *pct_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
        int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            return NULL;
        }
        *o++ = (char)(hi * 16 + lo);
        i += 2;
    }
    *o = '\0';
    return out;
}

/* Set *slot from "name=value" (value %-decoded); error if repeated or malformed. */
static hwj_err take(const char *uri, const char *what, const char *v, size_t n, char **slot,
                    hwj_error *err)
{
    if (*slot != NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "'%s' names %s twice", uri, what);
    if (n == 0 || (*slot = pct_decode(v, n)) == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "%s in '%s' is empty or badly %%-encoded", what,
                             uri);
    return HWJ_OK;
}

static hwj_err parse_handle(const char *uri, const char *v, size_t n, TPM2_HANDLE *h,
                            hwj_error *err)
{
    char buf[24], *end = NULL;
    if (n == 0 || n >= sizeof(buf))
        goto bad;
    memcpy(buf, v, n);
    buf[n] = '\0';
    errno = 0;
    unsigned long long x = strtoull(buf, &end, 0);
    if (errno != 0 || *end != '\0' || buf[0] == '-' || x > 0xffffffffULL)
        goto bad;
    if ((x & 0xff000000ULL) != ((unsigned long long)TPM2_HT_PERSISTENT << 24))
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "handle=%s in '%s' is not a persistent handle; persistent key "
                             "handles are 0x81000000-0x81ffffff (see `tpm2_getcap "
                             "handles-persistent`)",
                             buf, uri);
    *h = (TPM2_HANDLE)x;
    return HWJ_OK;
bad:
    return hwj_error_set(err, HWJ_ERR_ARG, "handle= in '%s' is not a number like 0x81000010", uri);
}

/* One "name=value" of the path (path=1) or the query. */
static hwj_err attr(const char *uri, const char *a, size_t n, int path, tpm2_uri *u, hwj_error *err)
{
    const char *eq = memchr(a, '=', n);
    if (eq == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "'%.*s' in '%s' is not name=value; the form is %s",
                             (int)n, a, uri, URI_FORM);
    size_t kn = (size_t)(eq - a), vn = n - kn - 1;
    const char *v = eq + 1;
#define IS(name) (kn == strlen(name) && strncmp(a, name, kn) == 0)
    if (path && IS("handle")) {
        if (u->handle != 0)
            return hwj_error_set(err, HWJ_ERR_ARG, "'%s' names handle twice", uri);
        return parse_handle(uri, v, vn, &u->handle, err);
    }
    if (path && (IS("file") || IS("path")))
        return take(uri, "file", v, vn, &u->file, err);
    if (!path && IS("tcti"))
        return take(uri, "tcti", v, vn, &u->tcti, err);
    if (!path && (IS("auth-source") || IS("pin-source")))
        return take(uri, "auth-source", v, vn, &u->auth_source, err);
#define IS_ANY_CASE(name) (kn == strlen(name) && strncasecmp(a, name, kn) == 0)
    if (IS_ANY_CASE("auth-value") || IS_ANY_CASE("pin-value") || IS_ANY_CASE("auth") ||
        IS_ANY_CASE("password"))
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "the key URI carries the key auth itself, which would put it in "
                             "argv and logs; use auth-source=file:PATH or HWJOSE_PIN instead");
#undef IS_ANY_CASE
#undef IS
    return hwj_error_set(err, HWJ_ERR_ARG, "'%.*s' is not a tpm2: URI %s; the form is %s", (int)kn,
                         a, path ? "attribute" : "query parameter", URI_FORM);
}

hwj_err tpm2_uri_parse(const char *uri, int allow_empty, tpm2_uri *out, hwj_error *err)
{
    tpm2_uri u = {0};
    hwj_err rc = HWJ_OK;

    if (strncmp(uri, "tpm2:", 5) != 0)
        return hwj_error_set(err, HWJ_ERR_ARG, "'%s' is not a tpm2: URI", uri);
    const char *p = uri + 5, *q = strchr(p, '?');
    const char *pend = q ? q : p + strlen(p);
    while (p < pend && rc == HWJ_OK) {
        const char *semi = memchr(p, ';', (size_t)(pend - p));
        const char *e = semi ? semi : pend;
        if (e > p)
            rc = attr(uri, p, (size_t)(e - p), 1, &u, err);
        p = e + (semi ? 1 : 0);
        if (semi == NULL)
            break;
    }
    for (p = q ? q + 1 : NULL; p != NULL && *p != '\0' && rc == HWJ_OK;) {
        const char *amp = strchr(p, '&');
        const char *e = amp ? amp : p + strlen(p);
        if (e > p)
            rc = attr(uri, p, (size_t)(e - p), 0, &u, err);
        p = amp ? amp + 1 : NULL;
    }
    if (rc == HWJ_OK && u.handle != 0 && u.file != NULL)
        rc = hwj_error_set(err, HWJ_ERR_ARG, "'%s' names both a handle and a file; give one", uri);
    if (rc == HWJ_OK && !allow_empty && u.handle == 0 && u.file == NULL)
        rc = hwj_error_set(err, HWJ_ERR_ARG, "'%s' names no key; the form is %s", uri, URI_FORM);
    if (rc != HWJ_OK) {
        tpm2_uri_clear(&u);
        return rc;
    }
    *out = u;
    return HWJ_OK;
}

void tpm2_uri_clear(tpm2_uri *u)
{
    free(u->file);
    free(u->tcti);
    free(u->auth_source);
    memset(u, 0, sizeof(*u));
}
