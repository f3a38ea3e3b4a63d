/* b64url.c: strict base64url; see b64url.h. */
#include "core/b64url.h"

#include "core/error.h"

#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 0..63 per byte, 0xff outside the alphabet: a table, because the decoder runs on every
 * token's three parts and per-character branches on token bytes mispredict. */
static const uint8_t values[256] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3e, 0xff, 0xff,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
    0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xff, 0xff, 0xff, 0xff, 0x3f,
    0xff, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

size_t hwj_b64url_encoded_len(size_t len)
{
    return len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
}

size_t hwj_b64url_decoded_max(size_t len)
{
    return len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
}

size_t hwj_b64url_encode_to(const uint8_t *in, size_t len, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

hwj_err hwj_b64url_encode(const uint8_t *in, size_t len, char **out, hwj_error *err)
{
    char *s = malloc(hwj_b64url_encoded_len(len) + 1);
    if (s == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory encoding base64url");
    hwj_b64url_encode_to(in, len, s);
    *out = s;
    return HWJ_OK;
}

hwj_err hwj_b64url_decode_to(const char *in, size_t len, uint8_t *out, size_t *outlen,
                             const char *what, hwj_error *err)
{
    if (what == NULL)
        what = "value";
    if (len % 4 == 1)
        return hwj_error_set(err, HWJ_ERR_PARSE, "%s: invalid base64url length %zu", what, len);
    size_t o = 0, i = 0;
    uint32_t acc = 0;
    /* Whole groups of four: one check per group for a byte outside the alphabet. */
    for (; i + 4 <= len; i += 4) {
        const unsigned char *g = (const unsigned char *)in + i;
        uint8_t a = values[g[0]], b = values[g[1]], c = values[g[2]], d = values[g[3]];
        if ((a | b | c | d) & 0x80)
            break;
        acc = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
        out[o++] = (uint8_t)(acc >> 16);
        out[o++] = (uint8_t)(acc >> 8);
        out[o++] = (uint8_t)acc;
    }
    acc = 0;
    for (; i < len; i++) {
        uint8_t v = values[(unsigned char)in[i]];
        if (v == 0xff)
            return hwj_error_set(err, HWJ_ERR_PARSE,
                                 "%s: invalid base64url character at offset %zu%s", what, i,
                                 in[i] == '=' ? " (padding is not allowed)" : "");
        acc = acc << 6 | v;
        if (i % 4 == 3) {
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    switch (len % 4) {
    case 2:
        if (acc & 0xf)
            goto noncanonical;
        out[o++] = (uint8_t)(acc >> 4);
        break;
    case 3:
        if (acc & 0x3)
            goto noncanonical;
        out[o++] = (uint8_t)(acc >> 10);
        out[o++] = (uint8_t)(acc >> 2);
        break;
    }
    *outlen = o;
    return HWJ_OK;
noncanonical:
    return hwj_error_set(err, HWJ_ERR_PARSE, "%s: non-canonical base64url (trailing bits set)",
                         what);
}

hwj_err hwj_b64url_decode(const char *in, size_t len, uint8_t **out, size_t *outlen,
                          const char *what, hwj_error *err)
{
    uint8_t *buf = malloc(hwj_b64url_decoded_max(len) + 1);
    size_t n = 0;
    if (buf == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory decoding base64url");
    hwj_err rc = hwj_b64url_decode_to(in, len, buf, &n, what, err);
    if (rc != HWJ_OK) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return HWJ_OK;
}
