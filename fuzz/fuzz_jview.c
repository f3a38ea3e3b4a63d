/* fuzz_jview: the hot path's JSON object view (src/core/jview.c) against Jansson, byte for
 * byte. Whatever the fast reader reads, Jansson (with the library's strict rules) must read
 * too, to the same members with the same types and values, and a text the view calls compact
 * is what json_dumps(JSON_COMPACT) writes; an input Jansson refuses the view must refuse with
 * Jansson's own error. */
#include "core/json.h"
#include "core/jview.h"

#include <stdlib.h>
#include <string.h>

static void same_value(const hwj_jv *a, const json_t *j)
{
    switch (a->type) {
    case HWJ_JV_STRING:
        if (!json_is_string(j) || json_string_length(j) != a->len ||
            memcmp(json_string_value(j), a->str, a->len) != 0 || strlen(a->str) != a->len)
            abort();
        break;
    case HWJ_JV_INTEGER:
        if (!json_is_integer(j) || json_integer_value(j) != a->u.integer)
            abort();
        break;
    case HWJ_JV_TRUE:
        if (!json_is_true(j))
            abort();
        break;
    case HWJ_JV_FALSE:
        if (!json_is_false(j))
            abort();
        break;
    case HWJ_JV_NULL:
        if (!json_is_null(j))
            abort();
        break;
    case HWJ_JV_ARRAY:
        if (!json_is_array(j) || json_array_size(j) != a->len)
            abort();
        for (size_t i = 0; i < a->len; i++) {
            hwj_jv e = hwj_jv_array_get(a, i);
            if (e.type == HWJ_JV_ARRAY)
                abort(); /* the fast reader takes flat arrays only */
            same_value(&e, json_array_get(j, i));
        }
        break;
    default: abort(); /* reals and objects are Jansson's */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hwj_jv_doc d;
    hwj_error e1 = {0}, e2 = {0};
    json_t *j = NULL;
    hwj_err r1 = hwj_jv_doc_parse(&d, (const char *)data, size, "fuzz", &e1);
    hwj_err r2 = hwj_json_parse_object((const char *)data, size, 0, "fuzz", &j, &e2);

    if (r1 != r2 || (r1 != HWJ_OK && strcmp(e1.message, e2.message) != 0))
        abort();
    if (r1 == HWJ_OK && hwj_jv_doc_is_fast(&d)) {
        if (json_object_size(j) != d.n)
            abort();
        for (size_t k = 0; k < d.n; k++) {
            hwj_jv v = hwj_jv_get(&d, d.names[k]);
            same_value(&v, json_object_get(j, d.names[k]));
        }
    }
    if (r1 == HWJ_OK && hwj_jv_doc_is_compact(&d)) {
        char *dump = json_dumps(j, JSON_COMPACT);
        if (dump == NULL || strlen(dump) != size || memcmp(dump, data, size) != 0)
            abort(); /* "compact" promises the text is what Jansson would write */
        free(dump);
    }
    json_decref(j);
    hwj_jv_doc_clear(&d);
    return 0;
}
