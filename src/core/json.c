/* json.c: strict JSON parsing over Jansson; see json.h. */
#include "core/json.h"

#include "core/error.h"

#include <hwjose/jws.h>
#include <stdlib.h>
#include <string.h>

/* Depth check before parsing: brackets outside strings, so a deeply nested
 * input is refused before Jansson recurses into it. */
static int depth_exceeds(const char *s, size_t len, size_t max)
{
    size_t depth = 0;
    int in_str = 0, esc = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return 1;
        } else if (c == '}' || c == ']') {
            if (depth > 0)
                depth--;
        }
    }
    return 0;
}

hwj_err hwj_json_parse(const char *text, size_t len, size_t max_depth, const char *what,
                       json_t **out, hwj_error *err)
{
    json_error_t jerr;
    if (max_depth == 0)
        max_depth = HWJ_DEFAULT_MAX_DEPTH;
    if (text == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "%s: no JSON given", what);
    if (depth_exceeds(text, len, max_depth))
        return hwj_error_set(err, HWJ_ERR_LIMIT, "%s: JSON nested deeper than %zu levels", what,
                             max_depth);
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (j == NULL)
        return hwj_error_set(err, HWJ_ERR_PARSE, "%s: invalid JSON at line %d column %d: %s", what,
                             jerr.line, jerr.column, jerr.text);
    *out = j;
    return HWJ_OK;
}

hwj_err hwj_json_parse_object(const char *text, size_t len, size_t max_depth, const char *what,
                              json_t **out, hwj_error *err)
{
    json_t *j = NULL;
    hwj_err rc = hwj_json_parse(text, len, max_depth, what, &j, err);
    if (rc != HWJ_OK)
        return rc;
    if (!json_is_object(j)) {
        json_decref(j);
        return hwj_error_set(err, HWJ_ERR_PARSE, "%s: expected a JSON object", what);
    }
    *out = j;
    return HWJ_OK;
}

hwj_err hwj_json_dump(const json_t *json, char **out, hwj_error *err)
{
    char *s = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory serializing JSON");
    *out = s;
    return HWJ_OK;
}

hwj_err hwj_json_merge_disjoint(json_t *dst, const json_t *src, const char **dup, hwj_error *err)
{
    const char *k;
    json_t *v;
    if (src == NULL)
        return HWJ_OK;
    json_object_foreach((json_t *)src, k, v)
    {
        if (json_object_get(dst, k) != NULL) {
            *dup = k;
            return HWJ_ERR_PARSE;
        }
        if (json_object_set(dst, k, v) != 0)
            return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    }
    return HWJ_OK;
}

int hwj_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != 0) {
        unsigned c = *p, n, min, cp;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, min = 0x80, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, min = 0x800, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, min = 0x10000, cp = c & 0x07;
        else
            return 0;
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0; /* also stops at the NUL */
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

hwj_err hwj_json_get_string(const json_t *obj, const char *name, const char *what, const char **out,
                            hwj_error *err)
{
    json_t *v = json_object_get(obj, name);
    if (v == NULL) {
        *out = NULL;
        return HWJ_OK;
    }
    if (!json_is_string(v))
        return hwj_error_set(err, HWJ_ERR_PARSE, "%s: \"%s\" must be a string", what, name);
    *out = json_string_value(v);
    return HWJ_OK;
}

const char *hwj_json_unknown_member(const json_t *obj, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        size_t i = 0;
        while (allowed[i] != NULL && strcmp(k, allowed[i]) != 0)
            i++;
        if (allowed[i] == NULL)
            return k;
    }
    return NULL;
}
