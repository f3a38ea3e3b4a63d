/* jview.h: a read-only view of a JSON object's members for the verify hot path (JOSE
 * headers, JWT claims).
 *
 * Parsing a 40-byte header or a 200-byte claims set with Jansson costs a dozen allocations and
 * a hash table each — more than the rest of an ES256 verification. The view reads the common
 * shape itself, with one allocation at most: an object of at most HWJ_JV_MAX members whose
 * names and string values are printable ASCII without escapes, whose numbers are integers of
 * at most 15 digits, whose arrays hold only such scalars. Anything else — an escape, a UTF-8
 * byte, a fraction, a nested object, a duplicate name, invalid JSON — is left to Jansson
 * (hwj_json_parse_object, with its strict rules and its error messages), so the verdict on
 * every input is Jansson's: the fast reader accepts only what Jansson accepts, with the same
 * meaning, and refuses nothing itself.
 *
 *   text ──▶ fast reader ──ok──▶ members in place (strings NUL-terminated in a private copy)
 *                 │
 *                 └─not the common shape──▶ Jansson ──▶ json_t (members read through it)
 *
 * Callers see one interface either way: hwj_jv_get, hwj_jv_array_get. */
#ifndef HWJ_CORE_JVIEW_H
#define HWJ_CORE_JVIEW_H

#include <hwjose/common.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HWJ_JV_ABSENT = 0,
    HWJ_JV_STRING,
    HWJ_JV_INTEGER,
    HWJ_JV_REAL,
    HWJ_JV_TRUE,
    HWJ_JV_FALSE,
    HWJ_JV_NULL,
    HWJ_JV_ARRAY,
    HWJ_JV_OBJECT
} hwj_jv_type;

/* One value, borrowed from its document. */
typedef struct hwj_jv {
    hwj_jv_type type;
    size_t len;      /* STRING: bytes (no NUL inside); ARRAY: elements */
    const char *str; /* STRING: NUL-terminated */
    union {
        int64_t integer;            /* INTEGER */
        double real;                /* REAL */
        const struct hwj_jv *elems; /* ARRAY read by the fast reader */
    } u;
    const json_t *json; /* the value, when Jansson read the document */
} hwj_jv;

#define HWJ_JV_MAX 32     /* members, and array elements in all, the fast reader takes */
#define HWJ_JV_INLINE 256 /* texts up to this size need no allocation */

typedef struct hwj_jv_doc {
    json_t *json; /* owned: set when Jansson read the document */
    char *arena;  /* the text's copy the fast reader reads in place: `small` or owned */
    size_t n, nelems;
    int compact; /* fast: no whitespace, no -0 (see hwj_jv_doc_is_compact) */
    const char *names[HWJ_JV_MAX];
    size_t name_lens[HWJ_JV_MAX];
    hwj_jv vals[HWJ_JV_MAX];
    hwj_jv elems[HWJ_JV_MAX];
    char small[HWJ_JV_INLINE];
} hwj_jv_doc;

/* An empty document (every member absent), safe to clear: for storage a parse may not reach. */
void hwj_jv_doc_init(hwj_jv_doc *d);
/* Read `len` bytes that must be a JSON object (errors as hwj_json_parse_object's, `what`
 * naming the input). On failure the document is empty, and hwj_jv_doc_clear is still safe. */
hwj_err hwj_jv_doc_parse(hwj_jv_doc *d, const char *text, size_t len, const char *what,
                         hwj_error *err);
/* The fast reader only: 1 when `text` (NULL: an empty object) was read in the common shape;
 * 0 otherwise, with the document empty and nothing parsed by Jansson — for callers that build
 * their output with Jansson anyway when the shape is not the common one. */
int hwj_jv_doc_parse_fast(hwj_jv_doc *d, const char *text, size_t len);
/* Release what the document owns; it is then empty (every member absent). */
void hwj_jv_doc_clear(hwj_jv_doc *d);
/* 1 when the fast reader read it (no json_t behind it): for tests and benchmarks. */
int hwj_jv_doc_is_fast(const hwj_jv_doc *d);
/* 1 when the fast reader read it and the text is what json_dumps(JSON_COMPACT) of it would
 * give: no whitespace, and no -0 (the fast reader's strings have no escapes, its numbers no
 * fractions). 0 says only "not known to be". */
int hwj_jv_doc_is_compact(const hwj_jv_doc *d);

/* The member `name` (type HWJ_JV_ABSENT when there is none, or when d is NULL). */
hwj_jv hwj_jv_get(const hwj_jv_doc *d, const char *name);
/* Element i of an array (HWJ_JV_ABSENT past its end or for a non-array). */
hwj_jv hwj_jv_array_get(const hwj_jv *a, size_t i);

#endif
