/* b64url.h: strict base64url (RFC 7515 §2, RFC 4648 §5) without padding.
 * The decoder rejects '=', characters outside the alphabet, a length of 4n+1
 * and non-canonical trailing bits, so each byte string has exactly one encoding. */
#ifndef HWJ_CORE_B64URL_H
#define HWJ_CORE_B64URL_H

#include <hwjose/common.h>

/* Characters needed to encode `len` bytes (no NUL). */
size_t hwj_b64url_encoded_len(size_t len);
/* Upper bound of bytes decoded from `len` characters. */
size_t hwj_b64url_decoded_max(size_t len);
/* Encode into `out` (room for encoded_len + 1); NUL-terminates; returns characters written. */
size_t hwj_b64url_encode_to(const uint8_t *in, size_t len, char *out);
/* Encode into a new NUL-terminated string. */
hwj_err hwj_b64url_encode(const uint8_t *in, size_t len, char **out, hwj_error *err);
/* Decode into `out` (room for decoded_max); `what` names the field in errors. */
hwj_err hwj_b64url_decode_to(const char *in, size_t len, uint8_t *out, size_t *outlen,
                             const char *what, hwj_error *err);
/* Decode into a new buffer (NUL-terminated for convenience; *outlen excludes it). */
hwj_err hwj_b64url_decode(const char *in, size_t len, uint8_t **out, size_t *outlen,
                          const char *what, hwj_error *err);

#endif
