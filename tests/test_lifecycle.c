/* test_lifecycle: the key-version timeline (src/server/lifecycle.c) at and around every
 * boundary, with the clock exactly on each. */
#include "server/lifecycle.h"
#include "testutil.h"

#include <string.h>

static const srv_timing tm = {.publish_delay = 30,
                              .propagation = 300,
                              .max_ttl = 3600,
                              .leeway = 60,
                              .rotation_period = 86400};

/* Versions 1 and 2 of one key as a rotation at T leaves them. */
#define T 1000000
static void two_versions(srv_version v[2])
{
    v[0] = (srv_version){
        .version = 1, .kid = "k1", .created_at = 0, .publish_at = 0, .activate_at = 0};
    srv_version_plan p;
    assert_int_equal(srv_lc_plan(v, 1, &tm, T, &p), SRV_LC_OK);
    v[0].retire_at = p.prev_retire_at;
    v[0].remove_at = p.prev_remove_at;
    v[1] = (srv_version){.version = p.version,
                         .kid = "k2",
                         .created_at = p.created_at,
                         .publish_at = p.publish_at,
                         .activate_at = p.activate_at};
}

static void t_first_version(void **state)
{
    (void)state;
    srv_version_plan p;
    assert_int_equal(srv_lc_plan(NULL, 0, &tm, 42, &p), SRV_LC_OK);
    assert_int_equal(p.version, 1);
    assert_int_equal(p.created_at, 42);
    assert_int_equal(p.publish_at, 42);
    assert_int_equal(p.activate_at, 42);
    assert_int_equal(p.prev_retire_at, 0);
    assert_int_equal(p.prev_remove_at, 0);
    srv_version v = {
        .version = 1, .kid = "a", .created_at = 42, .publish_at = 42, .activate_at = 42};
    assert_null(srv_lc_signing(&v, 1, 41));
    assert_ptr_equal(srv_lc_signing(&v, 1, 42), &v);
    assert_string_equal(srv_lc_state(&v, 41), "pending");
    assert_string_equal(srv_lc_state(&v, 42), "active");
    assert_false(srv_lc_in_jwks(&v, 41));
    assert_true(srv_lc_in_jwks(&v, 42));
    assert_false(srv_lc_can_decrypt(&v, 41));
    assert_true(srv_lc_can_decrypt(&v, 42));
}

static void t_plan_times(void **state)
{
    (void)state;
    srv_version v[2];
    two_versions(v);
    assert_int_equal(v[1].version, 2);
    assert_int_equal(v[1].created_at, T);
    assert_int_equal(v[1].publish_at, T + 30);
    assert_int_equal(v[1].activate_at, T + 330);
    assert_int_equal(v[0].retire_at, T + 330);
    assert_int_equal(v[0].remove_at, T + 330 + 3600 + 60);
}

static void t_boundaries(void **state)
{
    (void)state;
    srv_version v[2];
    two_versions(v);
    const int64_t pub = v[1].publish_at, act = v[1].activate_at, rem = v[0].remove_at;
    /* t = created_at: v2 exists (may decrypt), not yet published */
    assert_string_equal(srv_lc_state(&v[1], T), "pending");
    assert_true(srv_lc_can_decrypt(&v[1], T));
    assert_false(srv_lc_can_decrypt(&v[1], T - 1));
    /* publish_at - 1 / publish_at */
    assert_string_equal(srv_lc_state(&v[1], pub - 1), "pending");
    assert_false(srv_lc_in_jwks(&v[1], pub - 1));
    assert_string_equal(srv_lc_state(&v[1], pub), "published");
    assert_true(srv_lc_in_jwks(&v[1], pub));
    assert_ptr_equal(srv_lc_signing(v, 2, pub), &v[0]);
    /* activate_at - 1 / activate_at: the signer switches exactly here */
    assert_ptr_equal(srv_lc_signing(v, 2, act - 1), &v[0]);
    assert_string_equal(srv_lc_state(&v[1], act - 1), "published");
    assert_string_equal(srv_lc_state(&v[0], act - 1), "active");
    assert_ptr_equal(srv_lc_signing(v, 2, act), &v[1]);
    assert_string_equal(srv_lc_state(&v[1], act), "active");
    assert_string_equal(srv_lc_state(&v[0], act), "retiring");
    assert_true(srv_lc_in_jwks(&v[0], act));
    /* remove_at - 1 / remove_at: v1 leaves the JWKS and stops decrypting */
    assert_string_equal(srv_lc_state(&v[0], rem - 1), "retiring");
    assert_true(srv_lc_in_jwks(&v[0], rem - 1));
    assert_true(srv_lc_can_decrypt(&v[0], rem - 1));
    assert_ptr_equal(srv_lc_decrypt_kid(v, 2, "k1", rem - 1), &v[0]);
    assert_string_equal(srv_lc_state(&v[0], rem), "removed");
    assert_false(srv_lc_in_jwks(&v[0], rem));
    assert_false(srv_lc_can_decrypt(&v[0], rem));
    assert_null(srv_lc_decrypt_kid(v, 2, "k1", rem));
    assert_ptr_equal(srv_lc_decrypt_kid(v, 2, "k2", rem), &v[1]);
    assert_null(srv_lc_decrypt_kid(v, 2, "nope", rem));
    assert_ptr_equal(srv_lc_signing(v, 2, rem), &v[1]);
    /* the JWKS is bounded: after remove_at only v2 */
    assert_true(srv_lc_in_jwks(&v[1], rem));
}

static void t_removed_never_signs(void **state)
{
    (void)state;
    /* a lone version whose remove_at has passed signs nothing (only set by a successor, but the
     * functions must not depend on that) */
    srv_version v = {.version = 1,
                     .kid = "a",
                     .activate_at = 10,
                     .publish_at = 10,
                     .retire_at = 20,
                     .remove_at = 30};
    assert_ptr_equal(srv_lc_signing(&v, 1, 29), &v);
    assert_null(srv_lc_signing(&v, 1, 30));
}

static void t_refused_while_pending(void **state)
{
    (void)state;
    srv_version v[2];
    two_versions(v);
    srv_version_plan p = {.version = 99};
    /* pending, then published-not-active: refused; output untouched */
    assert_int_equal(srv_lc_plan(v, 2, &tm, T, &p), SRV_LC_CONFLICT);
    assert_int_equal(srv_lc_plan(v, 2, &tm, v[1].publish_at, &p), SRV_LC_CONFLICT);
    assert_int_equal(srv_lc_plan(v, 2, &tm, v[1].activate_at - 1, &p), SRV_LC_CONFLICT);
    assert_int_equal(p.version, 99);
    /* exactly at activate_at: allowed */
    assert_int_equal(srv_lc_plan(v, 2, &tm, v[1].activate_at, &p), SRV_LC_OK);
    assert_int_equal(p.version, 3);
    assert_int_equal(p.prev_retire_at, v[1].activate_at + 330);
    /* bad timings */
    srv_timing neg = tm;
    neg.propagation = -1;
    assert_int_equal(srv_lc_plan(v, 2, &neg, v[1].activate_at, &p), SRV_LC_INVALID);
    srv_timing huge = tm;
    huge.max_ttl = INT64_MAX;
    assert_int_equal(srv_lc_plan(v, 2, &huge, v[1].activate_at, &p), SRV_LC_INVALID);
}

static void t_rotation_due(void **state)
{
    (void)state;
    srv_version v[2];
    two_versions(v);
    assert_false(srv_lc_rotation_due(NULL, 0, 86400, T));
    assert_false(srv_lc_rotation_due(v, 1, 0, T)); /* no automatic rotation */
    assert_true(srv_lc_rotation_due(v, 1, 86400, 86400));
    assert_false(srv_lc_rotation_due(v, 1, 86400, 86399));
    /* v2 created at T: due at T + period, but not while v2 is pending (short period) */
    assert_false(srv_lc_rotation_due(v, 2, 86400, T + 86399));
    assert_true(srv_lc_rotation_due(v, 2, 86400, T + 86400));
    assert_false(srv_lc_rotation_due(v, 2, 100, T + 100));
    assert_false(srv_lc_rotation_due(v, 2, 100, v[1].activate_at - 1));
    assert_true(srv_lc_rotation_due(v, 2, 100, v[1].activate_at));
    assert_false(srv_lc_rotation_due(v, 2, INT64_MAX, INT64_MAX));
}

static void t_check_timing(void **state)
{
    (void)state;
    char msg[512];
    assert_int_equal(srv_lc_check_timing(&tm, 10, 300, msg, sizeof msg), 0);
    assert_int_equal(srv_lc_check_timing(&tm, 13, 300, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "publish delay"));
    assert_int_equal(srv_lc_check_timing(&tm, 10, 301, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "max-age"));
    srv_timing fast = tm;
    fast.rotation_period = 100;
    assert_int_equal(srv_lc_check_timing(&fast, 10, 300, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "rotation period"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_first_version),
        cmocka_unit_test(t_plan_times),
        cmocka_unit_test(t_boundaries),
        cmocka_unit_test(t_removed_never_signs),
        cmocka_unit_test(t_refused_while_pending),
        cmocka_unit_test(t_rotation_due),
        cmocka_unit_test(t_check_timing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
