/* pin.c: where a key's PIN comes from (see support.h); its copies are wiped. */
#include "keys/support.h"

#include "core/error.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read a PIN file: the first line, without its newline. */
static hwj_err read_pin_file(const char *path, char **pin, hwj_error *err)
{
    char buf[256];
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return hwj_error_set_native(err, HWJ_ERR_AUTH, HWJ_SRC_ERRNO, 0,
                                    "cannot read the PIN file '%s' named by pin-source; check "
                                    "that it exists and is readable",
                                    path);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    *pin = strdup(buf);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (*pin == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    return HWJ_OK;
}

hwj_err hwj_pin_resolve(const char *pin_source, const hwj_key_open_opts *opts, char **pin,
                        hwj_error *err)
{
    const char *env = getenv("HWJOSE_PIN");
    *pin = NULL;
    if (pin_source != NULL) {
        const char *path = pin_source;
        if (strncmp(path, "file:", 5) == 0)
            path += 5;
        if (strncmp(path, "//", 2) == 0)
            path += 2;
        return read_pin_file(path, pin, err);
    }
    const char *src = (opts != NULL && opts->pin != NULL) ? opts->pin : env;
    if (src != NULL && (*pin = strdup(src)) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    return HWJ_OK;
}
