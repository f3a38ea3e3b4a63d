/* config_read.c: typed readers of the config's JSON members, with errors that name the member
 * (config_read.h). */
#include "server/config_read.h"

#include "core/json.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cfg_perr(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return -1;
}

int cfg_check_members(json_t *obj, const char *where, const char *const *allowed, char *msg,
                      size_t msglen)
{
    const char *k = hwj_json_unknown_member(obj, allowed);
    return k ? PERR("config %s%s%s: unknown member", where, *where ? "." : "", k) : 0;
}

int cfg_get_str(json_t *obj, const char *name, const char *where, int required, char **out,
                char *msg, size_t msglen)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v) {
        if (required)
            return PERR("config %s%s%s: required", where, *where ? "." : "", name);
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return PERR("config %s%s%s: must be a non-empty string", where, *where ? "." : "", name);
    *out = strdup(json_string_value(v));
    return *out ? 0 : PERR("out of memory");
}

int cfg_get_bool(json_t *obj, const char *name, const char *where, int dflt, int *out, char *msg,
                 size_t msglen)
{
    json_t *v = json_object_get(obj, name);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!json_is_boolean(v))
        return PERR("config %s%s%s: must be true or false", where, *where ? "." : "", name);
    *out = json_is_true(v);
    return 0;
}

int cfg_get_int(json_t *obj, const char *name, const char *where, long long dflt, long long min,
                long long max, long long *out, char *msg, size_t msglen)
{
    json_t *v = json_object_get(obj, name);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return PERR("config %s%s%s: must be an integer from %lld to %lld", where, *where ? "." : "",
                    name, min, max);
    *out = json_integer_value(v);
    return 0;
}

/* A duration: an integer of seconds or "90s", "15m", "12h", "7d". */
int cfg_get_duration(json_t *obj, const char *name, const char *where, int64_t dflt, int64_t *out,
                     char *msg, size_t msglen)
{
    json_t *v = json_object_get(obj, name);
    const int64_t max = 366LL * 86400;
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        if (!isdigit((unsigned char)s[0]))
            goto bad;
        long long n = strtoll(s, &end, 10);
        int64_t mul = 1;
        if (errno || n > max)
            goto bad;
        if (*end) {
            switch (*end) {
            case 's': mul = 1; break;
            case 'm': mul = 60; break;
            case 'h': mul = 3600; break;
            case 'd': mul = 86400; break;
            default: goto bad;
            }
            if (end[1])
                goto bad;
        }
        *out = n * mul;
    } else {
        goto bad;
    }
    if (*out <= 0 || *out > max)
        goto bad;
    return 0;
bad:
    return PERR("config %s.%s: must be a duration from 1s to 366d (seconds, or \"90s\", "
                "\"15m\", \"12h\", \"7d\")",
                where, name);
}
