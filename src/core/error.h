/* error.h: filling the caller's hwj_error. Every setter returns the code, so
 * `return hwj_error_set(err, HWJ_ERR_PARSE, "...")` reads naturally. */
#ifndef HWJ_CORE_ERROR_H
#define HWJ_CORE_ERROR_H

#include <hwjose/common.h>

/* Clear `err` (if any) on entry to a public call. */
void hwj_error_reset(hwj_error *err);
/* The detail only, for a call inside the library whose public entry point has already reset
 * (OpenSSL's queue is left alone: peeking at it is not free on the hot path). */
void hwj_error_clear(hwj_error *err);
hwj_err hwj_error_set(hwj_error *err, hwj_err code, const char *fmt, ...) HWJ_PRINTF(3, 4);
hwj_err hwj_error_set_native(hwj_error *err, hwj_err code, hwj_err_source src, unsigned long native,
                             const char *fmt, ...) HWJ_PRINTF(5, 6);
/* Set the message, append OpenSSL's first queued reason, record its code, drain the queue. */
hwj_err hwj_error_set_openssl(hwj_error *err, hwj_err code, const char *fmt, ...) HWJ_PRINTF(3, 4);
/* Prefix an already-set message with context: "reading 'x.json': <old message>".
 * Returns nothing on purpose: the caller returns the code it already holds (the
 * detail may be NULL, so it cannot be the source of the code). */
void hwj_error_prefix(hwj_error *err, const char *fmt, ...) HWJ_PRINTF(2, 3);

#endif
