/* lifecycle.c: the key-version timeline as pure functions (see lifecycle.h for the diagram). */
#include "server/lifecycle.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int srv_lc_removed(const srv_version *v, int64_t t)
{
    return v->remove_at != 0 && t >= v->remove_at;
}

const srv_version *srv_lc_signing(const srv_version *v, size_t n, int64_t t)
{
    for (size_t i = n; i-- > 0;)
        if (v[i].activate_at <= t && !srv_lc_removed(&v[i], t))
            return &v[i];
    return NULL;
}

int srv_lc_in_jwks(const srv_version *v, int64_t t)
{
    return v->publish_at <= t && !srv_lc_removed(v, t);
}

int srv_lc_can_decrypt(const srv_version *v, int64_t t)
{
    return v->created_at <= t && !srv_lc_removed(v, t);
}

const srv_version *srv_lc_decrypt_kid(const srv_version *v, size_t n, const char *kid, int64_t t)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].kid && strcmp(v[i].kid, kid) == 0)
            return srv_lc_can_decrypt(&v[i], t) ? &v[i] : NULL;
    return NULL;
}

const char *srv_lc_state(const srv_version *v, int64_t t)
{
    if (srv_lc_removed(v, t))
        return "removed";
    if (t < v->publish_at)
        return "pending";
    if (t < v->activate_at)
        return "published";
    if (v->retire_at != 0 && t >= v->retire_at)
        return "retiring";
    return "active";
}

/* a + b into *r; 0 on overflow or a negative operand (no timing is negative). */
static int add_ok(int64_t a, int64_t b, int64_t *r)
{
    return a >= 0 && b >= 0 && !__builtin_add_overflow(a, b, r);
}

srv_lc_result srv_lc_plan(const srv_version *v, size_t n, const srv_timing *tm, int64_t now,
                          srv_version_plan *out)
{
    srv_version_plan p = {.version = 1, .created_at = now, .publish_at = now, .activate_at = now};
    if (now < 0)
        return SRV_LC_INVALID;
    if (n > 0) {
        const srv_version *last = &v[n - 1];
        if (last->version < 1 || last->version == INT64_MAX)
            return SRV_LC_INVALID;
        /* One rotation at a time: a successor of a not-yet-active version would retire it
         * before it ever signed, and two pending versions would race to activate. */
        if (now < last->activate_at)
            return SRV_LC_CONFLICT;
        p.version = last->version + 1;
        if (!add_ok(now, tm->publish_delay, &p.publish_at) ||
            !add_ok(p.publish_at, tm->propagation, &p.activate_at))
            return SRV_LC_INVALID;
        p.prev_retire_at = p.activate_at;
        int64_t grace;
        if (!add_ok(tm->max_ttl, tm->leeway, &grace) ||
            !add_ok(p.prev_retire_at, grace, &p.prev_remove_at))
            return SRV_LC_INVALID;
    }
    *out = p;
    return SRV_LC_OK;
}

int srv_lc_rotation_due(const srv_version *v, size_t n, int64_t rotation_period, int64_t t)
{
    if (rotation_period <= 0 || n == 0)
        return 0;
    const srv_version *last = &v[n - 1];
    int64_t due;
    if (!add_ok(last->created_at, rotation_period, &due))
        return 0;
    return due <= t && last->activate_at <= t;
}

int srv_lc_check_timing(const srv_timing *tm, int64_t refresh, int64_t max_age, char *msg,
                        size_t cap)
{
    if (tm->publish_delay < 0 || tm->propagation < 0 || tm->max_ttl < 0 || tm->leeway < 0 ||
        tm->rotation_period < 0) {
        snprintf(msg, cap, "key timings must not be negative");
        return -1;
    }
    int64_t need = 2 * refresh + SRV_LC_MARGIN;
    if (tm->publish_delay < need) {
        snprintf(msg, cap,
                 "publish delay %" PRId64 " s is too short: replicas refresh every %" PRId64
                 " s, so it must be at least %" PRId64 " s (twice that plus %d s) for every "
                 "replica to load a new version before any publishes it",
                 tm->publish_delay, refresh, need, SRV_LC_MARGIN);
        return -1;
    }
    if (tm->propagation < max_age) {
        snprintf(msg, cap,
                 "propagation %" PRId64 " s is shorter than the JWKS max-age %" PRId64
                 " s: raise it so verifiers' caches hold a new key before it signs",
                 tm->propagation, max_age);
        return -1;
    }
    if (tm->rotation_period != 0 && tm->rotation_period < tm->publish_delay + tm->propagation) {
        snprintf(msg, cap,
                 "rotation period %" PRId64 " s is shorter than publish delay plus propagation "
                 "(%" PRId64 " s): a new version would be due before the last one signs",
                 tm->rotation_period, tm->publish_delay + tm->propagation);
        return -1;
    }
    return 0;
}
