/* ecdsa.c: JOSE's fixed-size r||s <-> DER ECDSA-Sig-Value; see ecdsa.h. Both directions run
 * per signature on the hot path, so the DER is written and read here directly (strict DER:
 * minimal lengths and integers, nothing trailing) rather than through ECDSA_SIG and BIGNUMs,
 * which cost five allocations a signature. */
#include "core/ecdsa.h"

#include "core/error.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* The largest half we serve: P-521 (66 bytes). */
#define HALF_MAX 66

/* A DER length at *p (below `end`): short form, or long form of 1 byte >= 128. */
static int der_len(const uint8_t **p, const uint8_t *end, size_t *len)
{
    if (*p >= end)
        return 0;
    if (**p < 0x80) {
        *len = *(*p)++;
        return 1;
    }
    if (**p != 0x81 || end - *p < 2 || (*p)[1] < 0x80)
        return 0;
    *len = (*p)[1];
    *p += 2;
    return 1;
}

/* A non-negative, minimally encoded INTEGER of at most `half` significant bytes, written
 * left-padded into out[0..half). */
static int der_uint(const uint8_t **p, const uint8_t *end, size_t half, uint8_t *out)
{
    size_t len;

    if (*p >= end || *(*p)++ != 0x02 || !der_len(p, end, &len) || len == 0 ||
        len > (size_t)(end - *p))
        return 0;
    const uint8_t *v = *p;
    *p += len;
    if (v[0] & 0x80)
        return 0; /* negative */
    if (len > 1 && v[0] == 0 && !(v[1] & 0x80))
        return 0; /* padded: not DER */
    if (v[0] == 0 && len > 1) {
        v++;
        len--;
    }
    if (len > half)
        return 0;
    memset(out, 0, half - len);
    memcpy(out + half - len, v, len);
    return 1;
}

hwj_err hwj_ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t half, uint8_t *raw,
                             hwj_error *err)
{
    const uint8_t *p = der, *end;
    size_t len;

    if (der == NULL || raw == NULL || half == 0 || half > HALF_MAX || derlen > 2 * HALF_MAX + 16)
        return hwj_error_set(err, HWJ_ERR_ARG, "ECDSA signature conversion: bad arguments");
    end = der + derlen;
    if (derlen < 2 || *p++ != 0x30 || !der_len(&p, end, &len) || len != (size_t)(end - p) ||
        !der_uint(&p, end, half, raw) || !der_uint(&p, end, half, raw + half) || p != end) {
        OPENSSL_cleanse(raw, 2 * half);
        return hwj_error_set(err, HWJ_ERR_SIGNATURE, "invalid signature");
    }
    return HWJ_OK;
}

/* One INTEGER: leading zero bytes dropped, a 0x00 put back when the high bit is set. */
static size_t put_uint(const uint8_t *v, size_t n, uint8_t *out)
{
    size_t i = 0, pad;

    while (i + 1 < n && v[i] == 0)
        i++;
    pad = (v[i] & 0x80) != 0;
    out[0] = 0x02;
    out[1] = (uint8_t)(n - i + pad);
    out[2] = 0;
    memcpy(out + 2 + pad, v + i, n - i);
    return 2 + pad + n - i;
}

hwj_err hwj_ecdsa_raw_to_der_to(const uint8_t *raw, size_t rawlen, size_t half, uint8_t *der,
                                size_t *derlen)
{
    uint8_t body[2 * (HALF_MAX + 3)];
    size_t n, hdr;

    if (raw == NULL || der == NULL || derlen == NULL || half == 0 || half > HALF_MAX)
        return HWJ_ERR_ARG;
    if (rawlen != 2 * half) /* a DER signature, or a truncated one, where JOSE wants r||s */
        return HWJ_ERR_SIGNATURE;
    n = put_uint(raw, half, body);
    n += put_uint(raw + half, half, body + n);
    hdr = n < 0x80 ? 2 : 3;
    if (*derlen < hdr + n)
        return HWJ_ERR_ARG;
    der[0] = 0x30;
    if (n < 0x80) {
        der[1] = (uint8_t)n;
    } else {
        der[1] = 0x81;
        der[2] = (uint8_t)n;
    }
    memcpy(der + hdr, body, n);
    *derlen = hdr + n;
    return HWJ_OK;
}

hwj_err hwj_ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen, size_t half, uint8_t **der,
                             size_t *derlen, hwj_error *err)
{
    uint8_t buf[HWJ_ECDSA_DER_MAX];
    size_t n = sizeof(buf);
    hwj_err rc;

    if (raw == NULL || der == NULL || derlen == NULL || half == 0 || half > HALF_MAX)
        return hwj_error_set(err, HWJ_ERR_ARG, "ECDSA signature conversion: bad arguments");
    if ((rc = hwj_ecdsa_raw_to_der_to(raw, rawlen, half, buf, &n)) != HWJ_OK)
        return hwj_error_set(err, rc,
                             rc == HWJ_ERR_SIGNATURE ? "invalid signature"
                                                     : "ECDSA signature conversion failed");
    if ((*der = malloc(n)) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    memcpy(*der, buf, n);
    *derlen = n;
    return HWJ_OK;
}
