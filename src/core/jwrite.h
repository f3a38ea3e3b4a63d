/* jwrite.h: compact JSON text written directly, for the signing hot path (a JWT's claims and
 * protected header), byte for byte what json_dumps(JSON_COMPACT) of the same object gives.
 *
 * Only the common shape is written: strings of printable ASCII without '"' or '\\' (which
 * Jansson writes as they are), integers, true/false/null, flat arrays of those. Anything
 * else makes the writer fail and the caller build the object with Jansson as before, so the
 * output never depends on which path ran. The text goes into a fixed buffer; a text that
 * does not fit fails the same way. */
#ifndef HWJ_CORE_JWRITE_H
#define HWJ_CORE_JWRITE_H

#include "core/jview.h"

#include <stddef.h>
#include <stdint.h>

#define HWJ_JW_ROOM 1024

typedef struct hwj_jw {
    size_t len;
    int ok;    /* 0 once anything did not fit the common shape or the buffer */
    int first; /* no member written yet in the open object */
    char buf[HWJ_JW_ROOM];
} hwj_jw;

void hwj_jw_open(hwj_jw *w); /* "{" */
/* "name":value members; `name` follows the string rules too. */
void hwj_jw_string(hwj_jw *w, const char *name, const char *value);
void hwj_jw_int(hwj_jw *w, const char *name, int64_t value);
/* An array of strings. */
void hwj_jw_strings(hwj_jw *w, const char *name, const char *const *values, size_t n);
/* A member read by hwj_jv_doc_parse's fast reader (any type it reads). */
void hwj_jw_value(hwj_jw *w, const char *name, const hwj_jv *value);
/* Raw text for members written elsewhere (e.g. "\"b64\":false"), the caller's to get right. */
void hwj_jw_raw_member(hwj_jw *w, const char *text);
/* "}": 1 and the NUL-terminated text in w->buf (w->len bytes), or 0: use Jansson. */
int hwj_jw_close(hwj_jw *w);
/* hwj_jw_close, then the text as a new string (*len its length, when len is not NULL):
 * 1, or 0 (not the common shape, or out of memory: use Jansson). */
int hwj_jw_close_dup(hwj_jw *w, char **out, size_t *len);

#endif
