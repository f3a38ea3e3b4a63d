/* testutil.h: helpers shared by the cmocka test binaries. */
#ifndef HWJ_TESTUTIL_H
#define HWJ_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <hwjose/hwjose.h>
#include <jansson.h>

/* Read a whole file (NUL-terminated); fails the test if it cannot. */
char *tu_read_file(const char *path, size_t *len);
/* Load a JSON file from the RFC 7520 conformance set, e.g. "jws/4_1.rsa_v15_signature.json". */
json_t *tu_conformance(const char *relpath);
/* Write `text` to a new file under the test state dir; returns its path (free it). */
char *tu_write_temp(const char *name, const char *text);
/* Assert rc == HWJ_OK, printing the error detail when not. */
#define tu_ok(rc, err) tu_assert_ok_((rc), (err), __FILE__, __LINE__)
void tu_assert_ok_(hwj_err rc, const hwj_error *err, const char *file, int line);
/* Sign `msg` through hwj_key_sign_digest: its digest with alg's hash, computed here. For a
 * JWS alg other than EdDSA the signature verifies over `msg` like hwj_key_sign's. */
hwj_err tu_sign_digest(hwj_key *key, hwj_alg alg, const uint8_t *msg, size_t len, uint8_t *sig,
                       size_t *siglen, hwj_error *err);
/* The test state directory ($HWJ_TEST_STATE, created if needed). */
const char *tu_state_dir(void);

#endif
