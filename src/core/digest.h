/* digest.h (internal): the digests the hot paths use, fetched from the default provider once
 * per process. An implicit fetch (EVP_sha256() or a name in EVP_Digest) looks the digest up in
 * the provider store under a lock on every call; these are looked up once and kept. */
#ifndef HWJ_CORE_DIGEST_H
#define HWJ_CORE_DIGEST_H

#include <openssl/evp.h>

/* SHA-256. Never NULL (falls back to EVP_sha256() if the fetch failed). Thread-safe. */
const EVP_MD *hwj_md_sha256(void);

/* The digest named as in core/alg.c's table ("SHA1", "SHA256", "SHA384", "SHA512"), fetched
 * once; NULL for another name or if the provider lacks it. Thread-safe; never free it. */
const EVP_MD *hwj_md_get(const char *name);

#endif
