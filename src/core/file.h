/* file.h: reading a small input file (JWK, JWKS, PEM) whole, with a size bound. */
#ifndef HWJ_CORE_FILE_H
#define HWJ_CORE_FILE_H

#include <hwjose/common.h>

/* Read `path` into a new NUL-terminated buffer of *len bytes (free with
 * hwj_free_secret(text, *len + 1): it may hold private keys). More than `max` bytes is
 * HWJ_ERR_LIMIT; a missing or unreadable file HWJ_ERR_IO. `what` names it in errors. */
hwj_err hwj_file_read(const char *path, size_t max, const char *what, char **text, size_t *len,
                      hwj_error *err);

#endif
