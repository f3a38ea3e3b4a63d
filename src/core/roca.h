/* roca.h (internal): the ROCA fingerprint (CVE-2017-15361) of an RSA modulus. */
#ifndef HWJ_CORE_ROCA_H
#define HWJ_CORE_ROCA_H

#include <hwjose/common.h>
#include <openssl/types.h>

/* 1 if `n` has the fingerprint of the flawed Infineon RSALib generator, 0 if not, -1 on an
 * allocation failure. */
int hwj_roca_bn(const BIGNUM *n);
/* The same for an EVP_PKEY: 0 for anything that is not RSA. */
int hwj_roca_pkey(const EVP_PKEY *pkey);
/* HWJ_ERR_POLICY naming CVE-2017-15361 and `what` (the key); `generated`: the key was just
 * made by the token (no opt-out then). */
hwj_err hwj_roca_refuse(const char *what, int generated, hwj_error *err);

#endif
