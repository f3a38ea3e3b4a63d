/* json.h: Jansson with JOSE's rules: duplicate members rejected, NUL in strings
 * rejected, bounded size and nesting depth, objects where JOSE wants objects. */
#ifndef HWJ_CORE_JSON_H
#define HWJ_CORE_JSON_H

#include <hwjose/common.h>
#include <jansson.h>

/* Parse `len` bytes of JSON; `what` names the input in errors ("JOSE header").
 * max_depth 0 means HWJ_DEFAULT_MAX_DEPTH. */
hwj_err hwj_json_parse(const char *text, size_t len, size_t max_depth, const char *what,
                       json_t **out, hwj_error *err);
/* As hwj_json_parse, and the top level must be an object. */
hwj_err hwj_json_parse_object(const char *text, size_t len, size_t max_depth, const char *what,
                              json_t **out, hwj_error *err);
/* Compact serialization, members in insertion order. */
hwj_err hwj_json_dump(const json_t *json, char **out, hwj_error *err);

/* Copy src's members into dst (src may be NULL). A name already in dst stops the copy:
 * HWJ_ERR_PARSE with *dup naming it (borrowed from src) and no message set, so the caller
 * words the error for its own headers. HWJ_ERR_NOMEM (with message) on allocation failure. */
hwj_err hwj_json_merge_disjoint(json_t *dst, const json_t *src, const char **dup, hwj_error *err);

/* The first member of `obj` whose name is not in `allowed` (NULL-terminated), or NULL when there
 * is none; borrowed from obj. The caller words the error for its own input. */
const char *hwj_json_unknown_member(const json_t *obj, const char *const *allowed);

/* A member that must be a string if present: HWJ_OK with *out NULL when absent,
 * HWJ_ERR_PARSE when present with another type. */
/* 1 when `s` is valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF) — what Jansson's json_string() accepts. */
int hwj_utf8_valid(const char *s);

hwj_err hwj_json_get_string(const json_t *obj, const char *name, const char *what, const char **out,
                            hwj_error *err);

#endif
