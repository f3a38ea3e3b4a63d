/* test_b64url.c: strict base64url. */
#include "testutil.h"

#include "core/b64url.h"

#include <string.h>

static void roundtrip(const char *plain, const char *enc)
{
    char *e = NULL;
    uint8_t *d = NULL;
    size_t dlen = 0;
    hwj_error err;
    tu_ok(hwj_b64url_encode((const uint8_t *)plain, strlen(plain), &e, &err), &err);
    assert_string_equal(e, enc);
    tu_ok(hwj_b64url_decode(enc, strlen(enc), &d, &dlen, "test", &err), &err);
    assert_int_equal(dlen, strlen(plain));
    assert_memory_equal(d, plain, dlen);
    hwj_free(e);
    hwj_free(d);
}

static void test_vectors(void **state)
{
    (void)state;
    /* RFC 4648 §10, without padding. */
    roundtrip("", "");
    roundtrip("f", "Zg");
    roundtrip("fo", "Zm8");
    roundtrip("foo", "Zm9v");
    roundtrip("foob", "Zm9vYg");
    roundtrip("fooba", "Zm9vYmE");
    roundtrip("foobar", "Zm9vYmFy");
    roundtrip("\xfb\xff\xbf", "-_-_");
}

static void expect_reject(const char *enc)
{
    uint8_t *d = NULL;
    size_t dlen = 0;
    hwj_error err;
    assert_int_equal(hwj_b64url_decode(enc, strlen(enc), &d, &dlen, "test", &err), HWJ_ERR_PARSE);
    assert_null(d);
    assert_int_equal(err.code, HWJ_ERR_PARSE);
}

static void test_rejects(void **state)
{
    (void)state;
    expect_reject("Zg==");     /* padding */
    expect_reject("Zm8=");     /* padding */
    expect_reject("Zm9v+/");   /* standard alphabet */
    expect_reject("Zm 9v");    /* whitespace */
    expect_reject("Zm9vY");    /* 4n+1 */
    expect_reject("Zh");       /* non-canonical: 'h' has low bits set */
    expect_reject("Zm9");      /* non-canonical: '9' has low bits set */
    expect_reject("Zm9v\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
