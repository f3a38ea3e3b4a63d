/* opts.h: reading a caller's options struct whose first member is its size (the ABI scheme in
 * include/hwjose/common.h). A caller built against an older, smaller struct is read as far as it
 * goes and the rest is zero (the default); a size larger than the library's own is refused. */
#ifndef HWJ_CORE_OPTS_H
#define HWJ_CORE_OPTS_H

#include <hwjose/common.h>

/* Copy `src` (NULL: all defaults) into `dst`, the library's `dst_size`-byte struct named `what`. */
hwj_err hwj_opts_load(void *dst, size_t dst_size, const void *src, const char *what,
                      hwj_error *err);
/* The same for an array of `n` structs, each of the caller's size (that of `src[0]`); `*dst` is a
 * new array of the library's structs (free). */
hwj_err hwj_opts_load_array(void **dst, size_t dst_size, const void *src, size_t n,
                            const char *what, hwj_error *err);

#define HWJ_OPTS_LOAD(dst, src, type, err) hwj_opts_load(&(dst), sizeof(dst), (src), #type, (err))

#endif
