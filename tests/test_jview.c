/* test_jview.c: the hot path's JSON object view. Which inputs the fast reader takes (a JOSE
 * header and a JWT claims set of the usual shape must never fall back to Jansson, or the
 * verify path slows down unseen), and that every other input gets Jansson's answer.
 * fuzz_jview compares the two readers on arbitrary input. */
#include "testutil.h"

#include "core/jview.h"

#include <string.h>

/* Parse s; *fast says which reader took it. */
static hwj_err parse(const char *s, hwj_jv_doc *d, int *fast)
{
    hwj_error err;
    hwj_err rc = hwj_jv_doc_parse(d, s, strlen(s), "test", &err);
    *fast = hwj_jv_doc_is_fast(d);
    return rc;
}

static void test_common_shapes_are_fast(void **state)
{
    (void)state;
    static const char *const fast[] = {
        "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
        ("{\"iss\":\"https://issuer.test\",\"sub\":\"alice\",\"aud\":[\"a\",\"b\"],"
         "\"exp\":1700000600,\"iat\":1700000000,\"nbf\":-5,\"jti\":\"x\",\"ok\":true,\"n\":null}"),
        " { \"a\" : [ ] , \"b\" : [ 1 , \"2\" , false ] } ",
        "{}",
        "{\"a\":-0}",
        "{\"a\":123456789012345}",
    };
    for (size_t i = 0; i < sizeof(fast) / sizeof(fast[0]); i++) {
        hwj_jv_doc d;
        int is_fast = 0;
        assert_int_equal(parse(fast[i], &d, &is_fast), HWJ_OK);
        assert_true(is_fast);
        hwj_jv_doc_clear(&d);
    }
}

static void test_values(void **state)
{
    (void)state;
    hwj_jv_doc d;
    int fast;
    assert_int_equal(parse("{\"s\":\"abc\",\"i\":-42,\"t\":true,\"a\":[\"x\",7]}", &d, &fast),
                     HWJ_OK);
    hwj_jv s = hwj_jv_get(&d, "s"), i = hwj_jv_get(&d, "i"), a = hwj_jv_get(&d, "a");
    assert_int_equal(s.type, HWJ_JV_STRING);
    assert_string_equal(s.str, "abc");
    assert_int_equal(s.len, 3);
    assert_int_equal(i.type, HWJ_JV_INTEGER);
    assert_int_equal(i.u.integer, -42);
    assert_int_equal(hwj_jv_get(&d, "t").type, HWJ_JV_TRUE);
    assert_int_equal(hwj_jv_get(&d, "missing").type, HWJ_JV_ABSENT);
    assert_int_equal(a.type, HWJ_JV_ARRAY);
    assert_int_equal(a.len, 2);
    assert_string_equal(hwj_jv_array_get(&a, 0).str, "x");
    assert_int_equal(hwj_jv_array_get(&a, 1).u.integer, 7);
    assert_int_equal(hwj_jv_array_get(&a, 2).type, HWJ_JV_ABSENT);
    assert_true(hwj_jv_doc_is_compact(&d));
    hwj_jv_doc_clear(&d);
    assert_int_equal(hwj_jv_get(&d, "s").type, HWJ_JV_ABSENT); /* cleared: empty */
    assert_false(hwj_jv_doc_is_compact(&d));
    assert_int_equal(parse("{\"s\": 1}", &d, &fast), HWJ_OK);
    assert_false(hwj_jv_doc_is_compact(&d)); /* whitespace */
    hwj_jv_doc_clear(&d);
    assert_int_equal(parse("{\"s\":-0}", &d, &fast), HWJ_OK);
    assert_false(hwj_jv_doc_is_compact(&d)); /* Jansson writes 0 */
    hwj_jv_doc_clear(&d);
    assert_int_equal(hwj_jv_get(NULL, "s").type, HWJ_JV_ABSENT);
}

/* Outside the common shape: Jansson reads it (same interface), or refuses it in its words. */
static void test_everything_else_is_janssons(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        hwj_err rc;
    } cases[] = {
        {"{\"a\":\"\\u0041\"}", HWJ_OK},        /* an escape */
        {"{\"a\":\"\xc3\xa9\"}", HWJ_OK},       /* UTF-8 */
        {"{\"a\":1.5}", HWJ_OK},                /* a fraction */
        {"{\"a\":1e3}", HWJ_OK},                /* an exponent */
        {"{\"a\":1234567890123456}", HWJ_OK},   /* 16 digits */
        {"{\"cnf\":{\"jkt\":\"x\"}}", HWJ_OK},  /* a nested object */
        {"{\"a\":[[1]]}", HWJ_OK},              /* a nested array */
        {"{\"a\":1,\"a\":2}", HWJ_ERR_PARSE},   /* a duplicate */
        {"{\"a\":01}", HWJ_ERR_PARSE},          /* a leading zero */
        {"{\"a\":\"\\u0000\"}", HWJ_ERR_PARSE}, /* NUL */
        {"{\"a\":\"\xff\"}", HWJ_ERR_PARSE},    /* not UTF-8 */
        {"{\"a\":1} x", HWJ_ERR_PARSE},         /* trailing bytes */
        {"[1]", HWJ_ERR_PARSE},                 /* not an object */
        {"{\"a\":tru}", HWJ_ERR_PARSE},
        {"", HWJ_ERR_PARSE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hwj_jv_doc d;
        int fast = 1;
        assert_int_equal(parse(cases[i].text, &d, &fast), cases[i].rc);
        assert_false(fast);
        hwj_jv_doc_clear(&d);
    }
    /* More members than the fast reader holds; a text longer than the inline buffer. */
    char big[1024] = "{";
    for (int i = 0; i < HWJ_JV_MAX + 1; i++)
        snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s\"m%d\":%d", i ? "," : "", i, i);
    strcat(big, "}");
    hwj_jv_doc d;
    int fast = 1;
    assert_int_equal(parse(big, &d, &fast), HWJ_OK);
    assert_false(fast);
    assert_int_equal(hwj_jv_get(&d, "m32").u.integer, 32);
    hwj_jv_doc_clear(&d);
    char longer[600];
    snprintf(longer, sizeof(longer), "{\"pad\":\"%0*d\"}", 400, 0);
    assert_int_equal(parse(longer, &d, &fast), HWJ_OK);
    assert_true(fast);
    assert_int_equal(hwj_jv_get(&d, "pad").len, 400);
    hwj_jv_doc_clear(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_shapes_are_fast),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_everything_else_is_janssons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
