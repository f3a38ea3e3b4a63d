/* ecdsa.c: JOSE's fixed-size r||s <-> DER ECDSA-Sig-Value; see ecdsa.h.
 * ECDSA_SIG and its d2i/i2d are not deprecated in OpenSSL 3. */
#include "core/ecdsa.h"

#include "core/error.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

/* The largest half we serve: P-521 (66 bytes). */
#define HALF_MAX 66

hwj_err hwj_ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t half, uint8_t *raw,
                             hwj_error *err)
{
    const unsigned char *p = der;
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG *sig = NULL;
    hwj_err rc = HWJ_OK;

    if (der == NULL || raw == NULL || half == 0 || half > HALF_MAX || derlen > 2 * HALF_MAX + 16)
        return hwj_error_set(err, HWJ_ERR_ARG, "ECDSA signature conversion: bad arguments");
    if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL ||
        p != der + derlen) { /* trailing bytes after the DER value */
        ERR_clear_error();
        rc = hwj_error_set(err, HWJ_ERR_SIGNATURE, "invalid signature");
        goto out;
    }
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_is_negative(r) || BN_is_negative(s) || BN_num_bytes(r) > (int)half ||
        BN_num_bytes(s) > (int)half) {
        rc = hwj_error_set(err, HWJ_ERR_SIGNATURE, "invalid signature");
        goto out;
    }
    if (BN_bn2binpad(r, raw, (int)half) != (int)half ||
        BN_bn2binpad(s, raw + half, (int)half) != (int)half) {
        OPENSSL_cleanse(raw, 2 * half);
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "encoding an ECDSA signature failed");
    }
out:
    ECDSA_SIG_free(sig);
    return rc;
}

hwj_err hwj_ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen, size_t half, uint8_t **der,
                             size_t *derlen, hwj_error *err)
{
    ECDSA_SIG *sig = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *buf = NULL;
    hwj_err rc = HWJ_OK;
    int n;

    if (raw == NULL || der == NULL || derlen == NULL || half == 0 || half > HALF_MAX)
        return hwj_error_set(err, HWJ_ERR_ARG, "ECDSA signature conversion: bad arguments");
    if (rawlen != 2 * half) /* a DER signature, or a truncated one, where JOSE wants r||s */
        return hwj_error_set(err, HWJ_ERR_SIGNATURE, "invalid signature");
    if ((sig = ECDSA_SIG_new()) == NULL || (r = BN_bin2bn(raw, (int)half, NULL)) == NULL ||
        (s = BN_bin2bn(raw + half, (int)half, NULL)) == NULL) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!ECDSA_SIG_set0(sig, r, s)) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "ECDSA_SIG_set0 failed");
        goto out;
    }
    r = s = NULL; /* owned by sig now */
    if ((n = i2d_ECDSA_SIG(sig, NULL)) <= 0 || (buf = malloc((size_t)n)) == NULL) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_NOMEM, "encoding an ECDSA signature failed");
        goto out;
    }
    unsigned char *q = buf;
    if (i2d_ECDSA_SIG(sig, &q) != n) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "encoding an ECDSA signature failed");
        goto out;
    }
    *der = buf;
    *derlen = (size_t)n;
    buf = NULL;
out:
    free(buf);
    BN_free(s);
    BN_free(r);
    ECDSA_SIG_free(sig);
    return rc;
}
