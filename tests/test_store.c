/* test_store: the service's state store (src/server/store*.c) against a real backend, chosen by
 * argv[1]: "sqlite" (a file under the test state dir) or "postgresql" (the ctest fixture's
 * server, tests/fixtures/postgres.sh, which this test also stops and restarts). */
#include "server/store.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef HWJ_WITH_SQLITE
#include <sqlite3.h>
#endif
#ifdef HWJ_WITH_POSTGRESQL
#include <libpq-fe.h>
#endif

static int pg;          /* 1 = PostgreSQL, 0 = SQLite */
static char url[1100];  /* the store under test */
static char path[1024]; /* SQLite: the file */
static char msg[1024];

static const srv_timing tm = {
    .publish_delay = 30, .propagation = 300, .max_ttl = 3600, .leeway = 60};

/* Runs SQL on the store directly (set-up and inspection); returns the first column of the first
 * row as an integer, or -1 if there is none. */
static long long raw(const char *sql)
{
    long long v = -1;
#ifdef HWJ_WITH_POSTGRESQL
    if (pg) {
        PGconn *c = PQconnectdb(url);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
            fail_msg("%s: %s", sql, PQresultErrorMessage(r));
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
            v = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
        PQfinish(c);
        return v;
    }
#endif
#ifdef HWJ_WITH_SQLITE
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
#endif
    return v;
}

/* An empty store: no tables at all. */
static void reset(void)
{
    if (pg) {
        raw("DROP TABLE IF EXISTS hwjose_schema, hwjose_meta, hwjose_versions, hwjose_leases, "
            "hwjose_audit_checkpoints");
    } else {
        unlink(path);
        char side[1100];
        snprintf(side, sizeof side, "%s-wal", path);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", path);
        unlink(side);
    }
}

static srv_store *open_ok(void)
{
    srv_store *st = NULL;
    srv_store_status rc = srv_store_open(url, "hwjose-test", &st, msg, sizeof msg);
    if (rc != SRV_STORE_OK)
        fail_msg("open %s: %d %s", url, rc, msg);
    assert_string_equal(srv_store_backend(st), pg ? "postgresql" : "sqlite");
    return st;
}

static int64_t gen_of(srv_store *st)
{
    int64_t g = -1;
    if (srv_store_generation(st, &g, msg, sizeof msg) != SRV_STORE_OK)
        fail_msg("generation: %s", msg);
    return g;
}

/* A version of `key` with the given number and kid, times from the plan. */
static srv_version make(const char *key, const char *kid, const srv_version_plan *p)
{
    return (srv_version){.key_name = (char *)key,
                         .version = p->version,
                         .uri = "pkcs11:token=t;object=o;pin-source=file:/run/pin",
                         .kid = (char *)kid,
                         .alg = "ES256",
                         .jwk = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"x\",\"y\":\"y\"}",
                         .origin = "generated",
                         .created_by = "test",
                         .created_at = p->created_at,
                         .publish_at = p->publish_at,
                         .activate_at = p->activate_at};
}

/* Plans and adds the next version of `key` at `now`, as a rotation would. */
static srv_store_status rotate(srv_store *st, const char *key, const char *kid, int64_t now)
{
    srv_version *v = NULL;
    size_t n = 0;
    srv_version_plan p;
    if (srv_store_list(st, key, &v, &n, msg, sizeof msg) != SRV_STORE_OK)
        fail_msg("list: %s", msg);
    assert_int_equal(srv_lc_plan(v, n, &tm, now, &p), SRV_LC_OK);
    srv_versions_free(v, n);
    srv_version nv = make(key, kid, &p);
    return srv_store_add(st, &nv, p.prev_retire_at, p.prev_remove_at, msg, sizeof msg);
}

static void t_migrate_reopen(void **state)
{
    (void)state;
    reset();
    srv_store *st = open_ok();
    /* one row per migration, each applied once */
    assert_int_equal(raw("SELECT count(*) FROM hwjose_schema"), SRV_STORE_SCHEMA_VERSION);
    assert_int_equal(raw("SELECT max(version) FROM hwjose_schema"), SRV_STORE_SCHEMA_VERSION);
    assert_true(raw("SELECT applied_at FROM hwjose_schema") > 1600000000);
    assert_int_equal(gen_of(st), 0);
    srv_store_close(st);
    st = open_ok(); /* no second migration */
    assert_int_equal(raw("SELECT count(*) FROM hwjose_schema"), SRV_STORE_SCHEMA_VERSION);
    srv_store_close(st);
    srv_store_close(NULL);
    if (!pg) {
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        assert_int_equal(raw("SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"),
                         1);
    }
}

static void t_schema_too_new(void **state)
{
    (void)state;
    reset();
    srv_store_close(open_ok());
    raw("INSERT INTO hwjose_schema (version, applied_at) VALUES (99, 0)");
    srv_store *st = NULL;
    assert_int_equal(srv_store_open(url, NULL, &st, msg, sizeof msg), SRV_STORE_ERROR);
    assert_null(st);
    assert_non_null(strstr(msg, "schema version 99, newer than this build knows"));
    raw("DELETE FROM hwjose_schema WHERE version = 99");
    srv_store_close(open_ok());
}

static void t_versions(void **state)
{
    (void)state;
    reset();
    srv_store *st = open_ok();
    const int64_t t0 = 1000000;
    assert_int_equal(rotate(st, "sig", "kid-1", t0), SRV_STORE_OK);
    assert_int_equal(gen_of(st), 1);
    assert_int_equal(rotate(st, "sig", "kid-2", t0 + 10), SRV_STORE_OK);
    assert_int_equal(gen_of(st), 2);
    /* v2 not yet active: the plan refuses a third */
    srv_version *v = NULL;
    size_t n = 0;
    srv_version_plan p;
    assert_int_equal(srv_store_list(st, "sig", &v, &n, msg, sizeof msg), SRV_STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(srv_lc_plan(v, n, &tm, t0 + 10, &p), SRV_LC_CONFLICT);
    int64_t v2_active = v[1].activate_at;
    srv_versions_free(v, n);
    assert_int_equal(rotate(st, "sig", "kid-3", v2_active), SRV_STORE_OK);
    assert_int_equal(rotate(st, "enc", "kid-e1", t0), SRV_STORE_OK);
    assert_int_equal(gen_of(st), 4);

    /* all keys, ordered by key_name then version */
    assert_int_equal(srv_store_list(st, NULL, &v, &n, msg, sizeof msg), SRV_STORE_OK);
    assert_int_equal(n, 4);
    assert_string_equal(v[0].key_name, "enc");
    assert_string_equal(v[1].key_name, "sig");
    assert_int_equal(v[1].version, 1);
    assert_int_equal(v[3].version, 3);
    /* the timeline as stored */
    assert_int_equal(v[1].activate_at, t0);
    assert_int_equal(v[1].retire_at, t0 + 10 + 330);
    assert_int_equal(v[1].remove_at, t0 + 10 + 330 + 3660);
    assert_int_equal(v[2].created_at, t0 + 10);
    assert_int_equal(v[2].publish_at, t0 + 40);
    assert_int_equal(v[2].activate_at, t0 + 340);
    assert_int_equal(v[2].retire_at, v2_active + 330);
    assert_int_equal(v[2].remove_at, v2_active + 330 + 3660);
    assert_int_equal(v[3].retire_at, 0);
    assert_int_equal(v[3].remove_at, 0);
    assert_string_equal(v[3].kid, "kid-3");
    assert_string_equal(v[3].uri, "pkcs11:token=t;object=o;pin-source=file:/run/pin");
    assert_string_equal(v[3].jwk, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"x\",\"y\":\"y\"}");
    assert_string_equal(v[3].origin, "generated");
    assert_string_equal(v[3].alg, "ES256");
    assert_string_equal(v[3].created_by, "test");
    assert_ptr_equal(srv_lc_signing(v + 1, 3, v2_active + 330), &v[3]);
    srv_versions_free(v, n);

    /* a stale `latest` (the caller believes 2 is the latest): CONFLICT, nothing changed */
    p = (srv_version_plan){.version = 3, .created_at = t0, .publish_at = t0, .activate_at = t0};
    srv_version nv = make("sig", "kid-late", &p);
    assert_int_equal(srv_store_add(st, &nv, 7, 8, msg, sizeof msg), SRV_STORE_CONFLICT);
    assert_non_null(strstr(msg, "latest version is 3, not 2"));
    assert_int_equal(gen_of(st), 4);
    assert_int_equal(raw("SELECT retire_at FROM hwjose_versions WHERE key_name = 'sig' AND "
                         "version = 2"),
                     v2_active + 330);
    assert_int_equal(raw("SELECT count(*) FROM hwjose_versions WHERE kid = 'kid-late'"), 0);

    /* a kid already used (by another key): refused, nothing changed */
    p.version = 2;
    nv = make("enc", "kid-2", &p);
    assert_int_equal(srv_store_add(st, &nv, 7, 8, msg, sizeof msg), SRV_STORE_ERROR);
    assert_non_null(strstr(msg, "kid \"kid-2\" is already used"));
    assert_int_equal(gen_of(st), 4);
    assert_int_equal(raw("SELECT retire_at FROM hwjose_versions WHERE key_name = 'enc'"), 0);

    /* bad data never reaches the database */
    nv = make("enc", "kid-e2", &p);
    nv.uri = "pkcs11:token=t;object=o;pin-value=1234";
    assert_int_equal(srv_store_add(st, &nv, 7, 8, msg, sizeof msg), SRV_STORE_ERROR);
    assert_non_null(strstr(msg, "pin-value"));
    nv = make("enc", "kid-e2", &p);
    nv.uri = "pkcs11:token=t;object=o?PIN-VALUE=1234"; /* in any letter case */
    assert_int_equal(srv_store_add(st, &nv, 7, 8, msg, sizeof msg), SRV_STORE_ERROR);
    assert_null(strstr(msg, "1234"));
    nv = make("enc", "kid-e2", &p);
    nv.origin = "stolen";
    assert_int_equal(srv_store_add(st, &nv, 7, 8, msg, sizeof msg), SRV_STORE_ERROR);
    assert_int_equal(gen_of(st), 4);

    /* one key only; an unknown key has no versions */
    assert_int_equal(srv_store_list(st, "enc", &v, &n, msg, sizeof msg), SRV_STORE_OK);
    assert_int_equal(n, 1);
    srv_versions_free(v, n);
    v = (srv_version *)&nv;
    n = 99;
    assert_int_equal(srv_store_list(st, "nope", &v, &n, msg, sizeof msg), SRV_STORE_OK);
    assert_int_equal(n, 0);
    srv_versions_free(v, n);
    srv_store_close(st);
}

static void t_lease(void **state)
{
    (void)state;
    reset();
    srv_store *a = open_ok(), *b = open_ok();
    int won = -1;
    /* two holders race for a free lease: exactly one wins */
    assert_int_equal(srv_store_lease(a, "rotate", "A", 30, 100, &won, msg, sizeof msg),
                     SRV_STORE_OK);
    assert_int_equal(won, 1);
    assert_int_equal(srv_store_lease(b, "rotate", "B", 30, 100, &won, msg, sizeof msg),
                     SRV_STORE_OK);
    assert_int_equal(won, 0);
    /* renewal by the holder, even before expiry */
    assert_int_equal(srv_store_lease(a, "rotate", "A", 30, 120, &won, msg, sizeof msg),
                     SRV_STORE_OK);
    assert_int_equal(won, 1);
    assert_int_equal(raw("SELECT expires_at FROM hwjose_leases WHERE name = 'rotate'"), 150);
    /* B just before expiry: no; at expiry: takes it over; A then loses it */
    assert_int_equal(srv_store_lease(b, "rotate", "B", 30, 149, &won, msg, sizeof msg),
                     SRV_STORE_OK);
    assert_int_equal(won, 0);
    assert_int_equal(srv_store_lease(b, "rotate", "B", 30, 150, &won, msg, sizeof msg),
                     SRV_STORE_OK);
    assert_int_equal(won, 1);
    assert_int_equal(srv_store_lease(a, "rotate", "A", 30, 151, &won, msg, sizeof msg),
                     SRV_STORE_OK);
    assert_int_equal(won, 0);
    /* another lease name is independent */
    assert_int_equal(srv_store_lease(a, "other", "A", 30, 151, &won, msg, sizeof msg),
                     SRV_STORE_OK);
    assert_int_equal(won, 1);
    /* release by a non-holder does nothing; by the holder frees it */
    assert_int_equal(srv_store_lease_release(a, "rotate", "A", msg, sizeof msg), SRV_STORE_OK);
    assert_int_equal(srv_store_lease(a, "rotate", "A", 30, 152, &won, msg, sizeof msg),
                     SRV_STORE_OK);
    assert_int_equal(won, 0);
    assert_int_equal(srv_store_lease_release(b, "rotate", "B", msg, sizeof msg), SRV_STORE_OK);
    assert_int_equal(srv_store_lease(a, "rotate", "A", 30, 152, &won, msg, sizeof msg),
                     SRV_STORE_OK);
    assert_int_equal(won, 1);
    /* leases are not versions: the generation stays */
    assert_int_equal(gen_of(a), 0);
    assert_int_equal(srv_store_lease(a, "rotate", "A", 0, 152, &won, msg, sizeof msg),
                     SRV_STORE_ERROR);
    srv_store_close(a);
    srv_store_close(b);
}

/* Two processes open the store and add version 2 of one key at the same moment. */
/* Each replica's newest audit checkpoint: a later one replaces it, an earlier one never does. */
static void t_audit_checkpoint(void **state)
{
    (void)state;
    reset();
    srv_store *st = open_ok();
    assert_int_equal(srv_store_audit_checkpoint(st, "a", 10, "jws-a10", 100, msg, sizeof msg),
                     SRV_STORE_OK);
    assert_int_equal(srv_store_audit_checkpoint(st, "b", 5, "jws-b5", 100, msg, sizeof msg),
                     SRV_STORE_OK);
    assert_int_equal(srv_store_audit_checkpoint(st, "a", 20, "jws-a20", 101, msg, sizeof msg),
                     SRV_STORE_OK);
    assert_int_equal(srv_store_audit_checkpoint(st, "a", 15, "jws-a15", 102, msg, sizeof msg),
                     SRV_STORE_OK);
    assert_int_equal(raw("SELECT seq FROM hwjose_audit_checkpoints WHERE instance = 'a'"), 20);
    assert_int_equal(raw("SELECT count(*) FROM hwjose_audit_checkpoints WHERE jws = 'jws-a20'"), 1);
    assert_int_equal(raw("SELECT seq FROM hwjose_audit_checkpoints WHERE instance = 'b'"), 5);
    srv_store_close(st);
}

static void t_two_processes(void **state)
{
    (void)state;
    reset();
    srv_store *st = open_ok();
    assert_int_equal(rotate(st, "k", "kid-1", 1000), SRV_STORE_OK);
    srv_store_close(st);
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            close(go[1]);
            char b;
            srv_store *s = NULL;
            char m[512];
            if (srv_store_open(url, NULL, &s, m, sizeof m) != SRV_STORE_OK)
                _exit(10);
            if (read(go[0], &b, 1) != 0) /* wait until the parent closes the pipe */
                _exit(11);
            srv_version_plan p = {
                .version = 2, .created_at = 2000, .publish_at = 2030, .activate_at = 2330};
            srv_version nv = make("k", i ? "kid-2b" : "kid-2a", &p);
            srv_store_status rc = srv_store_add(s, &nv, 2330, 5990, m, sizeof m);
            srv_store_close(s);
            _exit(rc == SRV_STORE_OK ? 0 : rc == SRV_STORE_CONFLICT ? 1 : 12);
        }
    }
    close(go[0]);
    usleep(200000); /* both have opened (and so migrated) and wait */
    close(go[1]);
    int codes[2];
    for (int i = 0; i < 2; i++) {
        int ws;
        assert_int_equal(waitpid(kids[i], &ws, 0), kids[i]);
        assert_true(WIFEXITED(ws));
        codes[i] = WEXITSTATUS(ws);
    }
    assert_int_equal(codes[0] + codes[1], 1); /* one OK (0), one CONFLICT (1) */
    assert_int_equal(raw("SELECT count(*) FROM hwjose_versions WHERE key_name = 'k'"), 2);
    assert_int_equal(raw("SELECT retire_at FROM hwjose_versions WHERE version = 1"), 2330);
    if (!pg)
        assert_int_equal(raw("SELECT count(*) FROM pragma_integrity_check WHERE "
                             "integrity_check = 'ok'"),
                         1);
    st = open_ok();
    assert_int_equal(gen_of(st), 2);
    srv_store_close(st);
}

static void t_bad_urls(void **state)
{
    (void)state;
    srv_store *st = NULL;
    assert_int_equal(srv_store_open("mysql://u:pw@h/db", NULL, &st, msg, sizeof msg),
                     SRV_STORE_ERROR);
    assert_non_null(strstr(msg, "names no backend"));
    assert_null(strstr(msg, "pw"));
    assert_int_equal(srv_store_open("sqlite:/nonexistent-dir/x.db", NULL, &st, msg, sizeof msg),
                     SRV_STORE_ERROR);
    assert_non_null(strstr(msg, "directory /nonexistent-dir does not exist"));
    assert_null(st);

    char out[256];
    srv_store_redact_url("postgresql://bob:hunter2@db.example:5432/hwjose?sslmode=require&"
                         "password=s3cret",
                         out, sizeof out);
    assert_string_equal(out, "postgresql://bob:***@db.example:5432/hwjose?sslmode=require&"
                             "password=***");
    srv_store_redact_url("postgres://a@b:c@h/d", out, sizeof out);
    assert_string_equal(out, "postgres://a@b:***@h/d"); /* user "a@b", password "c" */
    srv_store_redact_url("postgresql://h/d?password=x", out, 12);
    assert_string_equal(out, "postgresql:");
    srv_store_redact_url("sqlite:/var/lib/hwjose/store.db", out, sizeof out);
    assert_string_equal(out, "sqlite:/var/lib/hwjose/store.db");
}

#ifdef HWJ_WITH_POSTGRESQL
static void pg_ctl(const char *what)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "bash '%s' %s '%s' >/dev/null", getenv("HWJ_PG_SCRIPT"), what,
             getenv("HWJ_PG_DIR"));
    assert_int_equal(system(cmd), 0);
}

/* The server goes away under an open store, then comes back: UNAVAILABLE, then it works. */
static void t_pg_down(void **state)
{
    (void)state;
    reset();
    srv_store *st = open_ok();
    assert_int_equal(rotate(st, "k", "kid-1", 1000), SRV_STORE_OK);
    pg_ctl("stop");
    int64_t g = -1;
    assert_int_equal(srv_store_generation(st, &g, msg, sizeof msg), SRV_STORE_UNAVAILABLE);
    assert_int_equal(g, -1);
    assert_non_null(strstr(msg, "reconnects"));
    srv_version *v = NULL;
    size_t n = 0;
    assert_int_equal(srv_store_list(st, NULL, &v, &n, msg, sizeof msg), SRV_STORE_UNAVAILABLE);
    assert_null(v);
    int won;
    assert_int_equal(srv_store_lease(st, "l", "A", 10, 1, &won, msg, sizeof msg),
                     SRV_STORE_UNAVAILABLE);
    pg_ctl("start");
    assert_int_equal(gen_of(st), 1);
    assert_int_equal(srv_store_list(st, NULL, &v, &n, msg, sizeof msg), SRV_STORE_OK);
    assert_int_equal(n, 1);
    srv_versions_free(v, n);
    srv_store_close(st);

    /* nothing listening: UNAVAILABLE at open, the password never quoted */
    st = NULL;
    assert_int_equal(srv_store_open("postgresql://bob:hunter2@127.0.0.1:1/hwjose?"
                                    "connect_timeout=2",
                                    NULL, &st, msg, sizeof msg),
                     SRV_STORE_UNAVAILABLE);
    assert_null(st);
    assert_null(strstr(msg, "hunter2"));
    assert_non_null(strstr(msg, "127.0.0.1"));
}
#endif

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "sqlite") != 0 && strcmp(argv[1], "postgresql") != 0)) {
        fprintf(stderr, "usage: test_store sqlite|postgresql\n");
        return 2;
    }
    pg = strcmp(argv[1], "postgresql") == 0;
    if (pg) {
        const char *dir = getenv("HWJ_PG_DIR");
        if (!dir || !getenv("HWJ_PG_SCRIPT")) {
            fprintf(stderr, "test_store postgresql: HWJ_PG_DIR and HWJ_PG_SCRIPT are not set\n");
            return 2;
        }
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "bash '%s' env '%s'", getenv("HWJ_PG_SCRIPT"), dir);
        FILE *f = popen(cmd, "r");
        if (!f || !fgets(url, sizeof url, f) || pclose(f) != 0) {
            fprintf(stderr, "test_store postgresql: no fixture server in %s\n", dir);
            return 2;
        }
        url[strcspn(url, "\n")] = '\0';
    } else {
        snprintf(path, sizeof path, "%s/store-test.db", tu_state_dir());
        snprintf(url, sizeof url, "sqlite:%s", path);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_migrate_reopen),   cmocka_unit_test(t_schema_too_new),
        cmocka_unit_test(t_versions),         cmocka_unit_test(t_lease),
        cmocka_unit_test(t_two_processes),    cmocka_unit_test(t_bad_urls),
        cmocka_unit_test(t_audit_checkpoint),
#ifdef HWJ_WITH_POSTGRESQL
        cmocka_unit_test(t_pg_down),
#endif
    };
    size_t n = sizeof tests / sizeof tests[0];
#ifdef HWJ_WITH_POSTGRESQL
    if (!pg)
        n--; /* t_pg_down is PostgreSQL only */
#endif
    return _cmocka_run_group_tests(pg ? "test_store_pg" : "test_store_sqlite", tests, n, NULL,
                                   NULL);
}
