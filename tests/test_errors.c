/*
 * test_errors.c: what error messages may say. No message shows a key URI's query or a
 * pin-value (any letter case, however malformed the URI), and an OpenSSL failure is reported
 * with the error the failing call raised, not an older entry of the thread's queue (an
 * off-curve point once read as "could not load the shared library").
 */
#include "testutil.h"

#include <hwjose/jwk.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <string.h>

static hwj_ctx *ctx;

static int setup(void **state)
{
    (void)state;
    hwj_error err;
    return hwj_ctx_new(&ctx, &err) == HWJ_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hwj_ctx_free(ctx);
    return 0;
}

/* Opening `uri` fails, and the message holds none of `secrets`. */
static void open_fails_quietly(const char *uri, const char *const *secrets)
{
    hwj_key *k = NULL;
    hwj_error err;
    assert_int_not_equal(hwj_key_open(ctx, uri, NULL, &k, &err), HWJ_OK);
    assert_null(k);
    assert_true(err.message[0] != '\0');
    for (; *secrets != NULL; secrets++)
        if (strstr(err.message, *secrets) != NULL)
            fail_msg("'%s' shown in: %s", *secrets, err.message);
}

static void t_uri_secrets(void **state)
{
    (void)state;
    static const char *const pin[] = {"9876", NULL};
    static const char *const query[] = {"/secret/dir", NULL};
    open_fails_quietly("pkcs11:token=a;object=b?PIN-VALUE=9876", pin);
    open_fails_quietly("pkcs11:token=a;Pin-Value=9876;object=b", pin);
    open_fails_quietly("pkcs11:token=a;object=b;bogus=1?pin-value=9876", pin);
    open_fails_quietly("pkcs11:token=a;object=b;bogus=1?pin-source=file:/secret/dir/pin", query);
    open_fails_quietly("pkcs11:tok%zz;object=b?module-path=/secret/dir/m.so", query);
    open_fails_quietly("tpm2:handle=xyz;pin-value=9876", pin);
    open_fails_quietly("tpm2:handle=xyz?auth-source=file:/secret/dir/auth", query);
    open_fails_quietly("tpm2:handle=0x81000001?AUTH-VALUE=9876", pin);
}

/* An EC public JWK whose point is not on P-256 (x = 1, y = 1). */
static const char off_curve[] = "{\"kty\":\"EC\",\"crv\":\"P-256\","
                                "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\","
                                "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}";

static void t_openssl_error_is_this_calls(void **state)
{
    (void)state;
    hwj_jwk *jwk = NULL;
    hwj_error err;
    /* An unrelated failure earlier in this thread leaves an entry in OpenSSL's queue. */
    assert_null(BIO_new_file("/nonexistent/hwjose-test", "r"));
    assert_int_not_equal(ERR_peek_error(), 0);
    assert_int_not_equal(hwj_jwk_parse(off_curve, strlen(off_curve), &jwk, &err), HWJ_OK);
    assert_null(jwk);
    assert_null(strstr(err.message, "No such file"));
    assert_null(strstr(err.message, "no such file"));
    if (err.source == HWJ_SRC_OPENSSL) {
        assert_int_not_equal(ERR_GET_LIB(err.native), ERR_LIB_SYS);
        assert_int_not_equal(ERR_GET_LIB(err.native), ERR_LIB_BIO);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_uri_secrets),
                                       cmocka_unit_test(t_openssl_error_is_this_calls)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
