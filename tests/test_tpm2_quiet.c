/* test_tpm2_quiet.c: the library never prints. tpm2-tss logs "ERROR:tcti:" lines to stderr
 * when a TCTI is missing or unreachable; opening a tpm2: key must write nothing there, and the
 * error returned must carry the detail instead. A process of its own, with TSS2_LOG unset:
 * tpm2-tss reads TSS2_LOG once per process. Needs no TPM. */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open `uri` with stderr sent to a file; the bytes written there go to *written. */
static hwj_err open_quietly(const char *uri, hwj_error *err, off_t *written)
{
    char path[1100];
    struct stat st;
    hwj_ctx *ctx = NULL;
    hwj_key *key = NULL;
    hwj_err rc;

    snprintf(path, sizeof(path), "%s/tpm2-quiet-stderr.%ld", tu_state_dir(), (long)getpid());
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600), saved = dup(2);
    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    assert_true(dup2(fd, 2) == 2);
    tu_ok(hwj_ctx_new(&ctx, err), err);
    rc = hwj_key_open(ctx, uri, NULL, &key, err);
    hwj_key_free(key);
    hwj_ctx_free(ctx);
    fflush(stderr);
    assert_true(dup2(saved, 2) == 2);
    close(saved);
    close(fd);
    assert_int_equal(stat(path, &st), 0);
    *written = st.st_size;
    if (st.st_size != 0) {
        char *text = tu_read_file(path, NULL);
        fprintf(stderr, "written to stderr:\n%s", text);
        free(text);
    }
    unlink(path);
    return rc;
}

static void test_missing_tcti(void **state)
{
    (void)state;
    hwj_error err = {0};
    off_t written = -1;
    assert_int_not_equal(
        open_quietly("tpm2:handle=0x81000001?tcti=hwj-no-such-tcti", &err, &written), HWJ_OK);
    assert_int_equal(written, 0);
    assert_int_equal(err.source, HWJ_SRC_TSS2);
    assert_int_not_equal(err.native, 0);
    assert_non_null(strstr(err.message, "hwj-no-such-tcti"));
    /* a TCTI that does not exist is not an unreachable swtpm */
    assert_non_null(strstr(err.message, "has no TCTI 'hwj-no-such-tcti'"));
    assert_null(strstr(err.message, "is swtpm running"));
}

static void test_unreachable_tcti(void **state)
{
    (void)state;
    hwj_error err = {0};
    off_t written = -1;
    assert_int_equal(
        open_quietly("tpm2:handle=0x81000001?tcti=swtpm:host=127.0.0.1,port=9", &err, &written),
        HWJ_ERR_TOKEN);
    assert_int_equal(written, 0);
    assert_int_equal(err.source, HWJ_SRC_TSS2);
    assert_non_null(strstr(err.message, "unreachable"));
    assert_non_null(strstr(err.message, "swtpm:host=127.0.0.1,port=9"));
}

/* a TCTI string the TCTI cannot parse: said so, not "is swtpm running?" */
static void test_bad_tcti_parameter(void **state)
{
    (void)state;
    hwj_error err = {0};
    off_t written = -1;
    assert_int_equal(open_quietly("tpm2:handle=0x81000001?tcti=swtpm:port=abc", &err, &written),
                     HWJ_ERR_TOKEN);
    assert_int_equal(written, 0);
    assert_int_equal(err.source, HWJ_SRC_TSS2);
    assert_non_null(strstr(err.message, "TCTI 'swtpm:port=abc' has a parameter"));
    assert_null(strstr(err.message, "is swtpm running"));
}

int main(void)
{
    unsetenv("TSS2_LOG");
    unsetenv("HWJOSE_TCTI");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_tcti),
        cmocka_unit_test(test_unreachable_tcti),
        cmocka_unit_test(test_bad_tcti_parameter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
