/* jwrite.c: compact JSON for the signing hot path; see jwrite.h. */
#include "core/jwrite.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(hwj_jw *w, const char *s, size_t n)
{
    if (!w->ok || n >= sizeof(w->buf) - w->len) {
        w->ok = 0;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* A string Jansson writes verbatim between quotes. */
static void put_string(hwj_jw *w, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
            w->ok = 0;
            return;
        }
    }
    put(w, "\"", 1);
    put(w, s, n);
    put(w, "\"", 1);
}

static void put_int(hwj_jw *w, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRId64, v);
    put(w, num, (size_t)n);
}

static void put_name(hwj_jw *w, const char *name)
{
    if (!w->first)
        put(w, ",", 1);
    w->first = 0;
    put_string(w, name, strlen(name));
    put(w, ":", 1);
}

void hwj_jw_open(hwj_jw *w)
{
    w->len = 0;
    w->ok = 1;
    w->first = 1;
    put(w, "{", 1);
}

void hwj_jw_string(hwj_jw *w, const char *name, const char *value)
{
    put_name(w, name);
    put_string(w, value, strlen(value));
}

void hwj_jw_int(hwj_jw *w, const char *name, int64_t value)
{
    put_name(w, name);
    put_int(w, value);
}

void hwj_jw_strings(hwj_jw *w, const char *name, const char *const *values, size_t n)
{
    put_name(w, name);
    put(w, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            put(w, ",", 1);
        put_string(w, values[i], strlen(values[i]));
    }
    put(w, "]", 1);
}

static void put_scalar(hwj_jw *w, const hwj_jv *v)
{
    switch (v->type) {
    case HWJ_JV_STRING: put_string(w, v->str, v->len); break;
    case HWJ_JV_INTEGER: put_int(w, v->u.integer); break;
    case HWJ_JV_TRUE: put(w, "true", 4); break;
    case HWJ_JV_FALSE: put(w, "false", 5); break;
    case HWJ_JV_NULL: put(w, "null", 4); break;
    default: w->ok = 0; /* reals, objects, nested arrays: Jansson's to write */
    }
}

void hwj_jw_value(hwj_jw *w, const char *name, const hwj_jv *value)
{
    put_name(w, name);
    if (value->type != HWJ_JV_ARRAY) {
        put_scalar(w, value);
        return;
    }
    put(w, "[", 1);
    for (size_t i = 0; i < value->len; i++) {
        hwj_jv e = hwj_jv_array_get(value, i);
        if (i > 0)
            put(w, ",", 1);
        put_scalar(w, &e);
    }
    put(w, "]", 1);
}

void hwj_jw_raw_member(hwj_jw *w, const char *text)
{
    if (!w->first)
        put(w, ",", 1);
    w->first = 0;
    put(w, text, strlen(text));
}

int hwj_jw_close(hwj_jw *w)
{
    put(w, "}", 1);
    if (w->ok)
        w->buf[w->len] = '\0'; /* put keeps one byte free */
    return w->ok;
}

int hwj_jw_close_dup(hwj_jw *w, char **out, size_t *len)
{
    char *s;
    if (!hwj_jw_close(w) || (s = malloc(w->len + 1)) == NULL)
        return 0;
    memcpy(s, w->buf, w->len + 1);
    *out = s;
    if (len != NULL)
        *len = w->len;
    return 1;
}
