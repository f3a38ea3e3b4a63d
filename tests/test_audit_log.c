/* test_audit_log.c: the audit module's parts without a server (docs/audit.md): the file ends on
 * a whole record after a write cut short (RLIMIT_FSIZE stands in for a full disk), start-up reads
 * the tail and cuts a torn last line, rotation joins the chain and keeps `keep` files, the
 * denial table stays bounded, and the verifier checks what the writer wrote. */
#include "server/audit_int.h"
#include "server/server.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[512], path[600], msg[512];

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("HWJ_TEST_STATE");
    snprintf(dir, sizeof(dir), "%s/audit-log.XXXXXX", base ? base : "/tmp");
    if (base)
        mkdir(base, 0700);
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/audit.log", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    glob_t g;
    char pat[700];
    snprintf(pat, sizeof(pat), "%s/*", dir);
    if (glob(pat, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            unlink(g.gl_pathv[i]);
        globfree(&g);
    }
    rmdir(dir);
    return 0;
}

static off_t size_of(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? sb.st_size : -1;
}

static int append(audit_log *l, const char *client)
{
    char m[256];
    int n = snprintf(m, sizeof(m), ",\"type\":\"event\",\"client\":\"%s\"", client);
    return alog_append(l, "{\"v\":2,\"time\":\"t\",\"instance\":\"i\"", m, (size_t)n);
}

static int verify(const char *const *files, size_t n)
{
    FILE *out = fopen("/dev/null", "w");
    int rc = srv_audit_verify(files, n, NULL, NULL, out, msg, sizeof(msg));
    fclose(out);
    return rc;
}

static void t_rollback_and_tail(void **state)
{
    (void)state;
    audit_log l;
    assert_int_equal(alog_open(&l, path, 1, 0, 0, msg, sizeof(msg)), 0);
    assert_int_equal(append(&l, "a"), 0);
    assert_int_equal(append(&l, "b"), 0);
    off_t whole = size_of(path);
    /* A full disk: the file may grow by 40 bytes, then writes fail (EFBIG) mid-record. */
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)whole + 40;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    assert_int_equal(append(&l, "a client whose record does not fit in the space left"), -1);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(size_of(path), whole); /* rolled back to the last whole record */
    assert_int_equal(l.seq, 2);
    assert_int_equal(append(&l, "c"), 0); /* space again: the chain continues */
    char head[65];
    memcpy(head, l.head, 65);
    alog_close(&l);
    const char *files[] = {path};
    assert_int_equal(verify(files, 1), 0);

    /* A torn last line (a crash mid-write) is cut at start; the chain continues from the tail. */
    FILE *f = fopen(path, "a");
    fputs("{\"v\":2,\"time\":\"t\",\"seq\":4,\"cli", f);
    fclose(f);
    assert_int_equal(alog_open(&l, path, 0, 0, 0, msg, sizeof(msg)), 0);
    assert_int_equal(l.seq, 3);
    assert_string_equal(l.head, head);
    assert_int_equal(append(&l, "d"), 0);
    alog_close(&l);
    assert_int_equal(verify(files, 1), 0);
}

static void t_rotate_keep(void **state)
{
    (void)state;
    audit_log l;
    glob_t g;
    char pat[700];
    assert_int_equal(alog_open(&l, path, 0, 300, 0, msg, sizeof(msg)), 0);
    for (int i = 0; i < 12; i++) {
        assert_int_equal(append(&l, "x"), 0);
        if (alog_rotate_due(&l))
            assert_int_equal(alog_rotate(&l), 0);
    }
    alog_close(&l);
    snprintf(pat, sizeof(pat), "%s/audit.log*", dir);
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    assert_true(g.gl_pathc >= 4);
    /* every file, in any order: one chain */
    assert_int_equal(verify((const char *const *)g.gl_pathv, g.gl_pathc), 0);
    /* without the oldest file (names sort as audit.log, then rotated files oldest first) the
     * chain does not start */
    char *oldest = g.gl_pathv[1];
    g.gl_pathv[1] = g.gl_pathv[0];
    assert_int_equal(verify((const char *const *)g.gl_pathv + 1, g.gl_pathc - 1), 1);
    g.gl_pathv[1] = oldest;
    globfree(&g);

    /* keep 1: a rotation leaves only the newest rotated file */
    assert_int_equal(alog_open(&l, path, 0, 300, 1, msg, sizeof(msg)), 0);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(append(&l, "y"), 0);
        if (alog_rotate_due(&l))
            assert_int_equal(alog_rotate(&l), 0);
    }
    alog_close(&l);
    snprintf(pat, sizeof(pat), "%s/audit.log.*", dir);
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    assert_int_equal(g.gl_pathc, 1);
    globfree(&g);
}

static uint64_t total, sources, other;
static void collect(void *arg, const char *source, uint64_t count, int64_t since, int64_t until)
{
    (void)arg;
    assert_true(since <= until);
    total += count;
    sources++;
    if (strcmp(source, "other") == 0)
        other = count;
}

static void t_flood_bounded(void **state)
{
    (void)state;
    char peer[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(peer, sizeof(peer), "10.%d.%d.1:%d", i / 256, i % 256, 1000 + i);
        aflood_count(peer);
    }
    for (int i = 0; i < 500; i++)
        aflood_count("[2001:db8::1]:443");
    aflood_flush(collect, NULL);
    assert_int_equal(total, 3500);
    assert_true(sources <= AFLOOD_SOURCES * 3 / 4 + 1); /* bounded, plus "other" */
    assert_true(other >= 3000 - AFLOOD_SOURCES * 3 / 4);
    total = sources = 0;
    aflood_flush(collect, NULL); /* a new interval starts empty */
    assert_int_equal(total, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_rollback_and_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(t_rotate_keep, setup, teardown),
        cmocka_unit_test(t_flood_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
