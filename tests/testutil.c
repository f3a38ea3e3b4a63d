/* testutil.c: see testutil.h. */
#include "testutil.h"

#include "core/alg.h"
#include "core/digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

json_t *tu_conformance(const char *relpath)
{
    char path[4096];
    json_error_t jerr;
    snprintf(path, sizeof(path), "%s/%s", HWJ_CONFORMANCE_DIR, relpath);
    json_t *j = json_load_file(path, 0, &jerr);
    if (j == NULL)
        fail_msg("cannot load %s: %s", path, jerr.text);
    return j;
}

const char *tu_state_dir(void)
{
    const char *d = getenv("HWJ_TEST_STATE");
    if (d == NULL)
        d = HWJ_BINARY_DIR "/tests/state";
    mkdir(d, 0700);
    return d;
}

char *tu_write_temp(const char *name, const char *text)
{
    char *path = malloc(4096);
    assert_non_null(path);
    snprintf(path, 4096, "%s/%s", tu_state_dir(), name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
    return path;
}

void tu_assert_ok_(hwj_err rc, const hwj_error *err, const char *file, int line)
{
    if (rc != HWJ_OK)
        fail_msg("%s:%d: expected HWJ_OK, got %d (%s): %s", file, line, (int)rc, hwj_err_str(rc),
                 err ? err->message : "");
}

hwj_err tu_sign_digest(hwj_key *key, hwj_alg alg, const uint8_t *msg, size_t len, uint8_t *sig,
                       size_t *siglen, hwj_error *err)
{
    const hwj_alg_info *info = hwj_alg_info_get(alg);
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    if (info != NULL && info->md != NULL)
        assert_int_equal(EVP_Digest(msg, len, d, &dlen, hwj_md_get(info->md), NULL), 1);
    return hwj_key_sign_digest(key, alg, d, dlen, sig, siglen, err);
}
