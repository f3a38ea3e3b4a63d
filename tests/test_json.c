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
    assert_int_equal(parse("{\"a\":1,\"a\":2}"), HWJ_ERR_PARSE); /* duplicate member */
    assert_int_equal(parse("[1]"), HWJ_ERR_PARSE);               /* not an object */
    assert_int_equal(parse("{\"a\":\"\\u0000\"}"), HWJ_ERR_PARSE); /* NUL in string */
    assert_int_equal(parse("{\"a\":1} x"), HWJ_ERR_PARSE);       /* trailing garbage */
    char deep[200];
    memset(deep, '[', 100);
    strcpy(deep + 100, "1");
    char obj[256];
    snprintf(obj, sizeof(obj), "{\"a\":%s}", deep);
    assert_int_equal(parse(obj), HWJ_ERR_LIMIT);
    /* brackets inside strings do not count */
    assert_int_equal(parse("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}"), HWJ_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
