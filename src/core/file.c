/* file.c: bounded whole-file reads; see file.h. */
#include "core/file.h"

#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

hwj_err hwj_file_read(const char *path, size_t max, const char *what, char **text, size_t *len,
                      hwj_error *err)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t cap = max, n = 0;
    struct stat st;
    hwj_err rc = HWJ_OK;

    if ((f = fopen(path, "rbe")) == NULL)
        return hwj_error_set_native(err, HWJ_ERR_IO, HWJ_SRC_ERRNO, (unsigned long)errno,
                                    "cannot open %s '%s': %s", what, path, strerror(errno));
    /* A regular file's size is known up front; a pipe is read up to the bound. */
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        if ((size_t)st.st_size > max) {
            rc = hwj_error_set(err, HWJ_ERR_LIMIT, "%s '%s' is larger than %zu bytes", what, path,
                               max);
            goto out;
        }
        cap = (size_t)st.st_size;
    } else if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = hwj_error_set(err, HWJ_ERR_IO, "%s '%s' is a directory, not a file", what, path);
        goto out;
    }
    if ((buf = malloc(cap + 2)) == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    n = fread(buf, 1, cap + 1, f);
    if (ferror(f)) {
        rc = hwj_error_set_native(err, HWJ_ERR_IO, HWJ_SRC_ERRNO, (unsigned long)errno,
                                  "cannot read %s '%s': %s", what, path, strerror(errno));
        goto out;
    }
    if (n > cap) { /* a pipe over the bound, or a file that grew while we read it */
        rc = hwj_error_set(err, cap == max ? HWJ_ERR_LIMIT : HWJ_ERR_IO,
                           cap == max ? "%s '%s' is larger than the limit"
                                      : "%s '%s' changed "
                                        "while being read",
                           what, path);
        goto out;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    buf = NULL;
out:
    if (buf != NULL)
        hwj_free_secret(buf, cap + 2);
    fclose(f);
    return rc;
}
