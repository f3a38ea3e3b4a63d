/* jws_verify.h: the JWS verify step the compact and JSON targets share. */
#ifndef HWJ_FUZZ_JWS_VERIFY_H
#define HWJ_FUZZ_JWS_VERIFY_H
#include <stddef.h>
#include <stdint.h>
void fz_jws_verify(const uint8_t *data, size_t size);
#endif
