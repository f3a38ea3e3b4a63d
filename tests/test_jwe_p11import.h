/* test_jwe_p11import.h: import a software private key into a PKCS#11 token (SoftHSM), as
 * the RFC 7520 keys must be for the hardware JWE tests and the benchmark. The private key
 * is created sensitive and non-extractable; the public half is created beside it. */
#ifndef HWJ_TEST_JWE_P11IMPORT_H
#define HWJ_TEST_JWE_P11IMPORT_H

#include <openssl/types.h>

/* Returns 0 on success, else -1 with a message on stderr. `label` becomes CKA_LABEL of
 * both objects, `id` their CKA_ID byte. */
int jt_p11_import(const char *module, const char *token, const char *pin, EVP_PKEY *pkey,
                  const char *label, unsigned char id);
/* The same, the private key marked CKA_EXTRACTABLE when `extractable` (still sensitive). */
int jt_p11_import_ex(const char *module, const char *token, const char *pin, EVP_PKEY *pkey,
                     const char *label, unsigned char id, int extractable);

#endif
