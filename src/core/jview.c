/* jview.c: the JSON object view; see jview.h. The fast reader answers only "read" or "not
 * the common shape": it never rejects, so no input gets a verdict Jansson would not give. */
#include "core/jview.h"

#include "core/error.h"
#include "core/json.h"

#include <stdlib.h>
#include <string.h>

#define JV_MAX_DIGITS 15 /* |n| < 10^15: exact in int64 and in Jansson's json_int_t */

/* Skip whitespace; a document with any is not in Jansson's compact form. */
static size_t skip_ws(hwj_jv_doc *d, const char *s, size_t i, size_t len)
{
    size_t j = i;
    while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'))
        j++;
    d->compact &= j == i;
    return j;
}

/* A string at s[*i] == '"': printable ASCII up to the closing quote, which becomes the NUL. */
static int read_string(char *s, size_t *i, size_t len, const char **out, size_t *out_len)
{
    size_t start = *i + 1, j = start;
    while (j < len && s[j] != '"') {
        unsigned char c = (unsigned char)s[j];
        if (c < 0x20 || c > 0x7e || c == '\\')
            return 0;
        j++;
    }
    if (j >= len)
        return 0;
    s[j] = '\0';
    *out = s + start;
    *out_len = j - start;
    *i = j + 1;
    return 1;
}

/* An integer: -?(0|[1-9][0-9]*), at most JV_MAX_DIGITS digits, not followed by a fraction,
 * an exponent or more digits (those are Jansson's to read or refuse). */
static int read_integer(hwj_jv_doc *d, const char *s, size_t *i, size_t len, int64_t *out)
{
    size_t j = *i, digits = 0;
    int neg = 0;
    int64_t v = 0;
    if (s[j] == '-') {
        neg = 1;
        j++;
    }
    if (j >= len || s[j] < '0' || s[j] > '9')
        return 0;
    if (s[j] == '0') {
        d->compact &= !neg; /* Jansson writes -0 as 0 */
        j++;
    } else {
        while (j < len && s[j] >= '0' && s[j] <= '9' && digits < JV_MAX_DIGITS) {
            v = v * 10 + (s[j] - '0');
            j++;
            digits++;
        }
    }
    if (j < len && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.' || s[j] == 'e' || s[j] == 'E'))
        return 0;
    *out = neg ? -v : v;
    *i = j;
    return 1;
}

static int read_literal(const char *s, size_t *i, size_t len, hwj_jv *v)
{
    static const struct {
        const char *word;
        size_t n;
        hwj_jv_type type;
    } lits[] = {{"true", 4, HWJ_JV_TRUE}, {"false", 5, HWJ_JV_FALSE}, {"null", 4, HWJ_JV_NULL}};
    for (size_t k = 0; k < sizeof(lits) / sizeof(lits[0]); k++) {
        if (len - *i >= lits[k].n && memcmp(s + *i, lits[k].word, lits[k].n) == 0) {
            v->type = lits[k].type;
            *i += lits[k].n;
            return 1;
        }
    }
    return 0;
}

static int read_value(hwj_jv_doc *d, char *s, size_t *i, size_t len, int in_array, hwj_jv *v);

/* An array of scalars at s[*i] == '['; its elements go to d->elems, contiguous. */
static int read_array(hwj_jv_doc *d, char *s, size_t *i, size_t len, hwj_jv *v)
{
    size_t j = skip_ws(d, s, *i + 1, len), first = d->nelems;
    v->type = HWJ_JV_ARRAY;
    v->u.elems = d->elems + first;
    v->len = 0;
    if (j < len && s[j] == ']') {
        *i = j + 1;
        return 1;
    }
    for (;;) {
        if (d->nelems == HWJ_JV_MAX || !read_value(d, s, &j, len, 1, &d->elems[d->nelems]))
            return 0;
        d->nelems++;
        v->len++;
        j = skip_ws(d, s, j, len);
        if (j >= len)
            return 0;
        if (s[j] == ']')
            break;
        if (s[j] != ',')
            return 0;
        j = skip_ws(d, s, j + 1, len);
    }
    *i = j + 1;
    return 1;
}

static int read_value(hwj_jv_doc *d, char *s, size_t *i, size_t len, int in_array, hwj_jv *v)
{
    if (*i >= len)
        return 0;
    v->json = NULL;
    v->str = NULL;
    v->len = 0;
    switch (s[*i]) {
    case '"': v->type = HWJ_JV_STRING; return read_string(s, i, len, &v->str, &v->len);
    case '[': return !in_array && read_array(d, s, i, len, v);
    case 't':
    case 'f':
    case 'n': return read_literal(s, i, len, v);
    default: v->type = HWJ_JV_INTEGER; return read_integer(d, s, i, len, &v->u.integer);
    }
}

/* The whole text as one object of the common shape, or 0. */
static int read_fast(hwj_jv_doc *d, char *s, size_t len)
{
    size_t i = skip_ws(d, s, 0, len);
    if (i >= len || s[i] != '{')
        return 0;
    i = skip_ws(d, s, i + 1, len);
    if (i < len && s[i] == '}')
        return skip_ws(d, s, i + 1, len) == len;
    for (;;) {
        const char *name;
        size_t name_len;
        if (d->n == HWJ_JV_MAX || i >= len || s[i] != '"' ||
            !read_string(s, &i, len, &name, &name_len))
            return 0;
        for (size_t k = 0; k < d->n; k++)
            if (d->name_lens[k] == name_len && memcmp(d->names[k], name, name_len) == 0)
                return 0; /* a duplicate: Jansson refuses it, in its words */
        i = skip_ws(d, s, i, len);
        if (i >= len || s[i] != ':')
            return 0;
        i = skip_ws(d, s, i + 1, len);
        if (!read_value(d, s, &i, len, 0, &d->vals[d->n]))
            return 0;
        d->name_lens[d->n] = name_len;
        d->names[d->n++] = name;
        i = skip_ws(d, s, i, len);
        if (i >= len)
            return 0;
        if (s[i] == '}')
            break;
        if (s[i] != ',')
            return 0;
        i = skip_ws(d, s, i + 1, len);
    }
    return skip_ws(d, s, i + 1, len) == len;
}

int hwj_jv_doc_parse_fast(hwj_jv_doc *d, const char *text, size_t len)
{
    hwj_jv_doc_init(d);
    if (text == NULL)
        return 1;
    if ((d->arena = len < sizeof(d->small) ? d->small : malloc(len + 1)) == NULL)
        return 0;
    d->compact = 1;
    memcpy(d->arena, text, len);
    d->arena[len] = '\0';
    if (read_fast(d, d->arena, len))
        return 1;
    hwj_jv_doc_clear(d);
    return 0;
}

hwj_err hwj_jv_doc_parse(hwj_jv_doc *d, const char *text, size_t len, const char *what,
                         hwj_error *err)
{
    hwj_err rc;
    if (text != NULL && hwj_jv_doc_parse_fast(d, text, len))
        return HWJ_OK;
    hwj_jv_doc_init(d);
    if ((rc = hwj_json_parse_object(text, len, 0, what, &d->json, err)) != HWJ_OK)
        d->json = NULL;
    return rc;
}

void hwj_jv_doc_init(hwj_jv_doc *d)
{
    d->json = NULL;
    d->arena = NULL;
    d->n = d->nelems = 0;
    d->compact = 0;
}

void hwj_jv_doc_clear(hwj_jv_doc *d)
{
    if (d == NULL)
        return;
    json_decref(d->json);
    if (d->arena != d->small)
        free(d->arena);
    d->json = NULL;
    d->arena = NULL;
    d->n = d->nelems = 0;
}

int hwj_jv_doc_is_fast(const hwj_jv_doc *d)
{
    return d != NULL && d->json == NULL && d->arena != NULL;
}

int hwj_jv_doc_is_compact(const hwj_jv_doc *d)
{
    return hwj_jv_doc_is_fast(d) && d->compact;
}

static hwj_jv from_json(const json_t *j)
{
    hwj_jv v = {.type = HWJ_JV_ABSENT, .json = j};
    switch (j != NULL ? json_typeof(j) : JSON_NULL) {
    case JSON_STRING:
        v.type = HWJ_JV_STRING;
        v.str = json_string_value(j);
        v.len = json_string_length(j);
        break;
    case JSON_INTEGER:
        v.type = HWJ_JV_INTEGER;
        v.u.integer = (int64_t)json_integer_value(j);
        break;
    case JSON_REAL:
        v.type = HWJ_JV_REAL;
        v.u.real = json_real_value(j);
        break;
    case JSON_TRUE: v.type = HWJ_JV_TRUE; break;
    case JSON_FALSE: v.type = HWJ_JV_FALSE; break;
    case JSON_NULL: v.type = j != NULL ? HWJ_JV_NULL : HWJ_JV_ABSENT; break;
    case JSON_ARRAY:
        v.type = HWJ_JV_ARRAY;
        v.len = json_array_size(j);
        break;
    case JSON_OBJECT: v.type = HWJ_JV_OBJECT; break;
    }
    return v;
}

hwj_jv hwj_jv_get(const hwj_jv_doc *d, const char *name)
{
    hwj_jv absent = {.type = HWJ_JV_ABSENT};
    if (d == NULL)
        return absent;
    if (d->json != NULL)
        return from_json(json_object_get(d->json, name));
    for (size_t k = 0; k < d->n; k++)
        if (d->names[k][0] == name[0] && strcmp(d->names[k], name) == 0)
            return d->vals[k];
    return absent;
}

hwj_jv hwj_jv_array_get(const hwj_jv *a, size_t i)
{
    hwj_jv absent = {.type = HWJ_JV_ABSENT};
    if (a == NULL || a->type != HWJ_JV_ARRAY || i >= a->len)
        return absent;
    if (a->json != NULL)
        return from_json(json_array_get(a->json, i));
    return a->u.elems[i];
}
