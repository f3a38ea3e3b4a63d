/*
 * hwjose — JOSE with keys that never leave hardware.
 *
 * common.h: the export macro, error codes and the caller-owned error detail
 * shared by every hwjose call.
 *
 * Conventions (the whole library follows them):
 *  - Every call that can fail returns an hwj_err and may fill a caller-owned
 *    hwj_error (pass NULL when the detail is not wanted).
 *  - Outputs are written only on success; on failure they are left untouched.
 *  - Strings and buffers returned through `char **` / `uint8_t **` are owned by
 *    the caller and released with hwj_free() (secrets with hwj_free_secret()).
 *  - Every *_free() accepts NULL.
 *  - get0_ returns a borrowed pointer; get1_ returns one the caller owns.
 *  - The library never prints.
 *
 * What is stable (ABI): function signatures, enum values, and the options structs callers
 * allocate (hwj_*_opts, hwj_verify_policy, hwj_jwe_recipient). Each of those starts with
 * `size_t size`, set by its _INIT macro (`hwj_jws_sign_opts o = HWJ_JWS_SIGN_OPTS_INIT;`);
 * zero members mean the default. Members are only ever appended, and no such struct is
 * embedded by value in another. The library reads as many bytes as `size` says: a program
 * built against an older, smaller struct gets the defaults for the members it does not know;
 * a size larger than the library's own (a program built against a newer libhwjose) is
 * refused with HWJ_ERR_ARG. Structs the library fills (results, hwj_error, hwj_custody) and
 * opaque types carry no size and may only grow where the library allocates them.
 */
#ifndef HWJOSE_COMMON_H
#define HWJOSE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <hwjose/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(HWJ_BUILDING_LIBRARY) && defined(__GNUC__)
#define HWJ_EXPORT __attribute__((visibility("default")))
#else
#define HWJ_EXPORT
#endif

#if defined(__GNUC__)
#define HWJ_WARN_UNUSED __attribute__((warn_unused_result))
#define HWJ_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HWJ_WARN_UNUSED
#define HWJ_PRINTF(f, a)
#endif

/* Error codes. Stable: values are never renumbered, new ones are appended. */
typedef enum hwj_err {
    HWJ_OK = 0,
    HWJ_ERR_ARG = 1,            /* the caller passed something invalid (NULL, bad option) */
    HWJ_ERR_NOMEM = 2,          /* allocation failed */
    HWJ_ERR_PARSE = 3,          /* malformed input: base64url, JSON, serialization */
    HWJ_ERR_LIMIT = 4,          /* input exceeds a limit (size, depth, p2c, inflated size) */
    HWJ_ERR_UNSUPPORTED = 5,    /* an alg, enc, kty, curve or crit parameter we do not implement */
    HWJ_ERR_POLICY = 6,         /* refused by policy: alg not allowed, none, wrong key type/use */
    HWJ_ERR_SIGNATURE = 7,      /* invalid signature (deliberately no more detail) */
    HWJ_ERR_DECRYPT = 8,        /* decryption failed (deliberately no more detail) */
    HWJ_ERR_CLAIMS = 9,         /* a JWT claim check failed (exp, nbf, iss, aud, typ, ...) */
    HWJ_ERR_KEY_NOT_FOUND = 10, /* no key matches (URI object, kid, kty/alg) */
    HWJ_ERR_KEY_AMBIGUOUS = 11, /* more than one key matches and nothing says which */
    HWJ_ERR_AUTH = 12,          /* PIN or key auth wrong, missing or locked */
    HWJ_ERR_TOKEN = 13,         /* the token/TPM failed or went away (device error, removed) */
    HWJ_ERR_CAPABILITY = 14,    /* the key or token cannot perform the requested operation */
    HWJ_ERR_CRYPTO = 15,        /* an OpenSSL operation failed unexpectedly */
    HWJ_ERR_IO = 16,            /* reading or writing a file failed */
    HWJ_ERR_NETWORK = 17,       /* fetching a remote resource failed */
    HWJ_ERR_INTERNAL = 18,      /* a bug: please report */
} hwj_err;

/* Where the native code in an hwj_error comes from. */
typedef enum hwj_err_source {
    HWJ_SRC_NONE = 0,
    HWJ_SRC_OPENSSL = 1, /* native = ERR_get_error() code */
    HWJ_SRC_PKCS11 = 2,  /* native = CK_RV */
    HWJ_SRC_TSS2 = 3,    /* native = TSS2_RC */
    HWJ_SRC_ERRNO = 4,   /* native = errno */
    HWJ_SRC_CURL = 5,    /* native = CURLcode */
} hwj_err_source;

#define HWJ_ERROR_MESSAGE_MAX 512

/*
 * Caller-owned error detail, as curl's error buffer. Zero-initialise it (or
 * let the library do so: every call that receives one resets it on entry).
 * The message says what failed and how to fix it; it never contains a PIN,
 * key material or a CEK, nor control characters: quoted input (a kid, an iss)
 * has them replaced by '?', so messages are safe to log as one line.
 */
typedef struct hwj_error {
    hwj_err code;
    hwj_err_source source;
    unsigned long native;
    char message[HWJ_ERROR_MESSAGE_MAX];
} hwj_error;

/* A short, static English name for a code ("invalid signature"). Never NULL. */
HWJ_EXPORT const char *hwj_err_str(hwj_err code);

/* Release memory the library returned. Accepts NULL. */
HWJ_EXPORT void hwj_free(void *p);

/* Wipe `len` bytes, then release them. Accepts NULL. */
HWJ_EXPORT void hwj_free_secret(void *p, size_t len);

/* The library version, "MAJOR.MINOR.PATCH". */
HWJ_EXPORT const char *hwj_version(void);

#ifdef __cplusplus
}
#endif
#endif
