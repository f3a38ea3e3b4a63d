/* ecdsa.h: JOSE's fixed-size r||s ECDSA signatures <-> OpenSSL's DER form. */
#ifndef HWJ_CORE_ECDSA_H
#define HWJ_CORE_ECDSA_H

#include <hwjose/common.h>

/* Room for the DER of any signature we serve: SEQUENCE of two 67-byte INTEGERs (P-521). */
#define HWJ_ECDSA_DER_MAX 144

/* DER ECDSA-Sig-Value -> r||s, each left-padded to `half` bytes (32, 48, 66).
 * `raw` has room for 2*half. */
hwj_err hwj_ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t half, uint8_t *raw,
                             hwj_error *err);
/* r||s (exactly 2*half bytes) -> DER in a new buffer (hwj_free). Any other length is
 * HWJ_ERR_SIGNATURE: a DER signature where JOSE wants r||s is invalid. */
hwj_err hwj_ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen, size_t half, uint8_t **der,
                             size_t *derlen, hwj_error *err);

/* The same into `der` (room for *derlen bytes; HWJ_ECDSA_DER_MAX always suffices), without
 * an allocation; on return *derlen is the DER's length. HWJ_ERR_SIGNATURE as above. */
hwj_err hwj_ecdsa_raw_to_der_to(const uint8_t *raw, size_t rawlen, size_t half, uint8_t *der,
                                size_t *derlen);

#endif
