/* error.c: error codes, messages and OpenSSL error-queue draining. */
#include "core/error.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

HWJ_EXPORT const char *hwj_err_str(hwj_err code)
{
    switch (code) {
    case HWJ_OK: return "ok";
    case HWJ_ERR_ARG: return "invalid argument";
    case HWJ_ERR_NOMEM: return "out of memory";
    case HWJ_ERR_PARSE: return "malformed input";
    case HWJ_ERR_LIMIT: return "limit exceeded";
    case HWJ_ERR_UNSUPPORTED: return "unsupported";
    case HWJ_ERR_POLICY: return "refused by policy";
    case HWJ_ERR_SIGNATURE: return "invalid signature";
    case HWJ_ERR_DECRYPT: return "decryption failed";
    case HWJ_ERR_CLAIMS: return "invalid claims";
    case HWJ_ERR_KEY_NOT_FOUND: return "key not found";
    case HWJ_ERR_KEY_AMBIGUOUS: return "ambiguous key";
    case HWJ_ERR_AUTH: return "authentication failed";
    case HWJ_ERR_TOKEN: return "token failure";
    case HWJ_ERR_CAPABILITY: return "operation not supported by the key";
    case HWJ_ERR_CRYPTO: return "cryptographic library failure";
    case HWJ_ERR_IO: return "I/O error";
    case HWJ_ERR_NETWORK: return "network error";
    case HWJ_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

HWJ_EXPORT void hwj_free(void *p)
{
    free(p);
}

HWJ_EXPORT void hwj_free_secret(void *p, size_t len)
{
    if (p == NULL)
        return;
    OPENSSL_cleanse(p, len);
    free(p);
}

HWJ_EXPORT const char *hwj_version(void)
{
    return HWJ_VERSION_STRING;
}

void hwj_error_clear(hwj_error *err)
{
    if (err == NULL)
        return;
    err->code = HWJ_OK;
    err->source = HWJ_SRC_NONE;
    err->native = 0;
    err->message[0] = '\0';
}

void hwj_error_reset(hwj_error *err)
{
    /* Every API call starts here: an OpenSSL error it reports must be one it raised, not an
     * older entry of this thread's queue (an off-curve point once read "could not load the
     * shared library", left there by an unrelated earlier call). Peeking first: clearing
     * walks the whole queue, and on the hot path the queue is empty. */
    if (ERR_peek_error() != 0)
        ERR_clear_error();
    hwj_error_clear(err);
}

/* Messages quote input (kid, iss, typ, file names) that an attacker may control; callers log them.
 * Control bytes become '?', so a crafted value cannot forge log lines or terminal escapes. */
static void neutralise(char *msg)
{
    for (unsigned char *p = (unsigned char *)msg; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
}

/* msg[at..at+n) replaced by `with`, within a buffer of HWJ_ERROR_MESSAGE_MAX (cut if full). */
static void splice(char *msg, size_t at, size_t n, const char *with)
{
    size_t len = strlen(msg), wn = strlen(with);
    size_t tail = len - at - n;
    if (at + wn + tail >= HWJ_ERROR_MESSAGE_MAX)
        tail = HWJ_ERROR_MESSAGE_MAX - 1 > at + wn ? HWJ_ERROR_MESSAGE_MAX - 1 - at - wn : 0;
    if (at + wn >= HWJ_ERROR_MESSAGE_MAX)
        wn = HWJ_ERROR_MESSAGE_MAX - 1 - at;
    memmove(msg + at + wn, msg + at + n, tail);
    memcpy(msg + at, with, wn);
    msg[at + wn + tail] = '\0';
}

static int uri_end(char c)
{
    return c == '\0' || c == ' ' || c == '\'' || c == '"' || c == ')' || c == '\t';
}

/* Messages quote key URIs, however malformed. They never show a URI's query (module paths, PIN
 * and auth sources), nor the value of a pin-value or auth-value anywhere, in any letter case. */
static void redact(char *msg)
{
    static const char *const secret[] = {"pin-value=", "auth-value=", NULL};
    static const char *const scheme[] = {"pkcs11:", "tpm2:", NULL};
    for (size_t i = 0; msg[i] != '\0'; i++) {
        for (const char *const *w = secret; *w != NULL; w++) {
            size_t wl = strlen(*w), j = i + wl;
            if (strncasecmp(msg + i, *w, wl) != 0)
                continue;
            while (!uri_end(msg[j]) && msg[j] != ';' && msg[j] != '&')
                j++;
            splice(msg, i + wl, j - i - wl, "(not shown)");
        }
        for (const char *const *w = scheme; *w != NULL; w++) {
            size_t wl = strlen(*w), q = i + wl, j;
            if (strncasecmp(msg + i, *w, wl) != 0 || (i > 0 && isalnum((unsigned char)msg[i - 1])))
                continue;
            while (!uri_end(msg[q]) && msg[q] != '?' && msg[q] != '[') /* '[': a usage form */
                q++;
            if (msg[q] != '?')
                continue;
            for (j = q; !uri_end(msg[j]); j++)
                ;
            splice(msg, q, j - q, "?...");
        }
    }
}

static void fill(hwj_error *err, hwj_err code, hwj_err_source src, unsigned long native,
                 const char *fmt, va_list ap) HWJ_PRINTF(5, 0);

static void fill(hwj_error *err, hwj_err code, hwj_err_source src, unsigned long native,
                 const char *fmt, va_list ap)
{
    err->code = code;
    err->source = src;
    err->native = native;
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    neutralise(err->message);
    redact(err->message);
}

hwj_err hwj_error_set(hwj_error *err, hwj_err code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        fill(err, code, HWJ_SRC_NONE, 0, fmt, ap);
        va_end(ap);
    }
    return code;
}

hwj_err hwj_error_set_native(hwj_error *err, hwj_err code, hwj_err_source src, unsigned long native,
                             const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        fill(err, code, src, native, fmt, ap);
        va_end(ap);
    }
    return code;
}

hwj_err hwj_error_set_openssl(hwj_error *err, hwj_err code, const char *fmt, ...)
{
    unsigned long e = ERR_peek_error();
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        fill(err, code, e ? HWJ_SRC_OPENSSL : HWJ_SRC_NONE, e, fmt, ap);
        va_end(ap);
        const char *reason = e ? ERR_reason_error_string(e) : NULL;
        if (reason != NULL) {
            size_t used = strlen(err->message);
            snprintf(err->message + used, sizeof(err->message) - used, " (%s)", reason);
        }
    }
    ERR_clear_error();
    return code;
}

void hwj_error_prefix(hwj_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char prefix[HWJ_ERROR_MESSAGE_MAX];
    char old[HWJ_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof(old));
    size_t n = strlen(prefix);
    if (n + 2 < sizeof(err->message)) {
        memcpy(err->message, prefix, n);
        memcpy(err->message + n, ": ", 2);
        size_t room = sizeof(err->message) - n - 3;
        size_t olen = strnlen(old, room);
        memcpy(err->message + n + 2, old, olen);
        err->message[n + 2 + olen] = '\0';
        neutralise(err->message);
        redact(err->message);
    }
}
