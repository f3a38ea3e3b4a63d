/* test_rfc8725_jwks.c: a JWK Set fetched from a jwks_uri is public by definition, so one
 * that carries a symmetric ("oct") key or private members is a leaked key and is refused
 * whole (RFC 8725 §3.5 and §2.2: with an "oct" key any reader could mint HS* tokens).
 * Runs tests/jwks_server.py on loopback, as test_jwks_cache does. */
#include "testutil.h"

#include <hwjose/jwks_cache.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t srv_pid;
static int srv_port;

static int start(void **state)
{
    char portfile[4096];
    (void)state;
    snprintf(portfile, sizeof(portfile), "%s/rfc8725_jwks.%d.port", tu_state_dir(), (int)getpid());
    unlink(portfile);
    if ((srv_pid = fork()) == 0) {
        execlp("python3", "python3", HWJ_SOURCE_DIR "/tests/jwks_server.py", "--port-file",
               portfile, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && srv_port <= 0; i++) {
        FILE *f = fopen(portfile, "r");
        if (f != NULL) {
            if (fscanf(f, "%d", &srv_port) != 1)
                srv_port = 0;
            fclose(f);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    unlink(portfile);
    return srv_port > 0 ? 0 : -1;
}

static int stop(void **state)
{
    (void)state;
    if (srv_pid > 0) {
        kill(srv_pid, SIGTERM);
        waitpid(srv_pid, NULL, 0);
    }
    return 0;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

/* Make the server answer `jwks` (a JSON text). */
static void serve(const char *jwks)
{
    char url[128];
    json_t *st = json_pack("{s:s}", "body", jwks);
    char *body = json_dumps(st, JSON_COMPACT);
    CURL *h = curl_easy_init();
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/_control", srv_port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    free(body);
    json_decref(st);
}

static void published_set_must_be_public(void **state)
{
    char url[128];
    hwj_jwks_cache *c = NULL;
    hwj_jwks_snapshot *snap = NULL;
    hwj_error err;
    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks.json", srv_port);
    tu_ok(hwj_jwks_cache_new(url, NULL, &c, &err), &err);

    /* A private P-256 JWK (RFC 7517 App. A.2) and its public half. */
    const char *pub = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"1\","
                      "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","
                      "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}";
    const char *priv = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"1\","
                       "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","
                       "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\","
                       "\"d\":\"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE\"}";
    const char *oct = "{\"kty\":\"oct\",\"kid\":\"h\",\"k\":"
                      "\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-"
                      "1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}";
    char *set = NULL;

    assert_true(asprintf(&set, "{\"keys\":[%s]}", pub) > 0);
    serve(set);
    tu_ok(hwj_jwks_cache_refresh(c, &err), &err);
    free(set);

    const char *bad[] = {priv, oct};
    for (size_t i = 0; i < 2; i++) {
        assert_true(
            asprintf(
                &set, "{\"keys\":[%s,%s]}",
                i ? pub
                  : "{\"kty\":\"OKP\","
                    "\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
                bad[i]) > 0);
        serve(set);
        {
            hwj_err rc = hwj_jwks_cache_refresh(c, &err);
            if (rc != HWJ_ERR_POLICY)
                fail_msg("set %zu: expected a policy refusal, got %d: %s", i, rc, err.message);
            assert_non_null(strstr(err.message, "public keys only"));
            assert_non_null(strstr(err.message, "keeping the previous set"));
        }
        free(set);
        /* the previous, public set is still the one in use */
        tu_ok(hwj_jwks_cache_get1(c, "1", &snap, &err), &err);
        const hwj_jwks *keys = hwj_jwks_snapshot_get0_set(snap);
        assert_int_equal(hwj_jwks_count(keys), 1);
        assert_int_equal(hwj_jwk_is_private(hwj_jwks_get0(keys, 0)), 0);
        hwj_jwks_snapshot_free(snap);
    }
    hwj_jwks_cache_free(c);
}

/* A published set holding a ROCA-vulnerable RSA key (CVE-2017-15361; tests/data/roca) is
 * refused whole, and the previous set stays in use. */
static void published_set_without_roca(void **state)
{
    char url[128];
    hwj_jwks_cache *c = NULL;
    hwj_jwks_snapshot *snap = NULL;
    hwj_error err;
    (void)state;
    char *good = tu_read_file(HWJ_TEST_DATA_DIR "/roca/control-rsa2048.pub.jwk", NULL);
    char *bad = tu_read_file(HWJ_TEST_DATA_DIR "/roca/roca.jwks", NULL);
    char *set = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks.json", srv_port);
    tu_ok(hwj_jwks_cache_new(url, NULL, &c, &err), &err);
    assert_true(asprintf(&set, "{\"keys\":[%s]}", good) > 0);
    serve(set);
    tu_ok(hwj_jwks_cache_refresh(c, &err), &err);
    serve(bad);
    assert_int_equal(hwj_jwks_cache_refresh(c, &err), HWJ_ERR_POLICY);
    assert_non_null(strstr(err.message, "CVE-2017-15361"));
    tu_ok(hwj_jwks_cache_get1(c, "control-2048", &snap, &err), &err);
    assert_int_equal(hwj_jwks_count(hwj_jwks_snapshot_get0_set(snap)), 1);
    hwj_jwks_snapshot_free(snap);
    hwj_jwks_cache_free(c);
    free(set);
    free(good);
    free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(published_set_must_be_public),
        cmocka_unit_test(published_set_without_roca),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
