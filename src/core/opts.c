/* opts.c: size-checked options structs (see opts.h). */
#include "core/opts.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

/* The size the caller's struct says it has, checked against what the library knows. */
static hwj_err caller_size(const void *src, size_t dst_size, const char *what, size_t *size,
                           hwj_error *err)
{
    memcpy(size, src, sizeof *size);
    if (*size < sizeof(size_t))
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "%s: its size member is %zu; initialise the struct with its _INIT "
                             "macro (e.g. HWJ_JWS_SIGN_OPTS_INIT), which sets the size",
                             what, *size);
    if (*size > dst_size)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "%s: size %zu is larger than this libhwjose knows (%zu, version %s): "
                             "the program was built against a newer libhwjose; install that "
                             "version or rebuild the program against this one",
                             what, *size, dst_size, hwj_version());
    return HWJ_OK;
}

hwj_err hwj_opts_load(void *dst, size_t dst_size, const void *src, const char *what, hwj_error *err)
{
    size_t size = 0;
    hwj_err rc;

    memset(dst, 0, dst_size);
    if (src != NULL) {
        if ((rc = caller_size(src, dst_size, what, &size, err)) != HWJ_OK)
            return rc;
        memcpy(dst, src, size);
    }
    memcpy(dst, &dst_size, sizeof dst_size);
    return HWJ_OK;
}

hwj_err hwj_opts_load_array(void **dst, size_t dst_size, const void *src, size_t n,
                            const char *what, hwj_error *err)
{
    size_t stride = 0;
    unsigned char *arr = NULL;
    hwj_err rc;

    if (n == 0 || src == NULL) {
        *dst = NULL;
        return HWJ_OK;
    }
    if ((rc = caller_size(src, dst_size, what, &stride, err)) != HWJ_OK)
        return rc;
    if ((arr = calloc(n, dst_size)) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const unsigned char *el = (const unsigned char *)src + i * stride;
        size_t size = 0;

        memcpy(&size, el, sizeof size);
        if (size != stride) {
            free(arr);
            return hwj_error_set(err, HWJ_ERR_ARG,
                                 "%s #%zu: size %zu differs from the first element's %zu; "
                                 "initialise every element with its _INIT macro",
                                 what, i, size, stride);
        }
        memcpy(arr + i * dst_size, el, size);
        memcpy(arr + i * dst_size, &dst_size, sizeof dst_size);
    }
    *dst = arr;
    return HWJ_OK;
}
