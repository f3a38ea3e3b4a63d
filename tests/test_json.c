/* test_json.c: strict JSON rules. */
#include "testutil.h"

#include "core/json.h"

#include <string.h>

static hwj_err parse(const char *s)
{
    json_t *j = NULL;
    hwj_error err;
    hwj_err rc = hwj_json_parse_object(s, strlen(s), 0, "test", &j, &err);
    json_decref(j);
    return rc;
}

static void test_rules(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"a\":1}"), HWJ_OK);
    assert_int_equal(parse("{\"a\":1,\"a\":2}"), HWJ_ERR_PARSE);   /* duplicate member */
    assert_int_equal(parse("[1]"), HWJ_ERR_PARSE);                 /* not an object */
    assert_int_equal(parse("{\"a\":\"\\u0000\"}"), HWJ_ERR_PARSE); /* NUL in string */
    assert_int_equal(parse("{\"a\":1} x"), HWJ_ERR_PARSE);         /* trailing garbage */
    char deep[200];
    memset(deep, '[', 100);
    strcpy(deep + 100, "1");
    char obj[256];
    snprintf(obj, sizeof(obj), "{\"a\":%s}", deep);
    assert_int_equal(parse(obj), HWJ_ERR_LIMIT);
    /* brackets inside strings do not count */
    assert_int_equal(parse("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}"), HWJ_OK);
}

/* hwj_utf8_valid accepts exactly what Jansson's json_string() does: every two-byte string and
 * every lead/continuation pair extended by a few third and fourth bytes. */
static void test_utf8_like_jansson(void **state)
{
    static const unsigned char tails[] = {0x00, 0x41, 0x80, 0x9f, 0xa0, 0xbf, 0xc0};
    (void)state;
    for (unsigned b0 = 1; b0 < 0x100; b0++)
        for (unsigned b1 = 0; b1 < 0x100; b1++)
            for (size_t t2 = 0; t2 < sizeof(tails); t2++)
                for (size_t t3 = 0; t3 < sizeof(tails); t3++) {
                    char str[5] = {(char)b0, (char)b1, (char)tails[t2], (char)tails[t3], 0};
                    json_t *j = json_string(str);
                    if (hwj_utf8_valid(str) != (j != NULL))
                        fail_msg("%02x %02x %02x %02x: hwj_utf8_valid %d, Jansson %d", b0, b1,
                                 tails[t2], tails[t3], hwj_utf8_valid(str), j != NULL);
                    json_decref(j);
                    if (b1 == 0)
                        break; /* the string ends at b1 */
                }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_utf8_like_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
