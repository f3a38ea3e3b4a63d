/* bench_server_lib.c: the library baseline for bench_server.sh — hwj_jwt_issue on one
 * key from N threads for D seconds, the same work POST /v1/keys/{name}/jwt does minus
 * HTTP, JSON request parsing and the audit record. Prints "issues_per_second N" and
 * "cpu_seconds C", the process CPU time the signing threads used (on a shared machine the
 * rate per CPU-second is the steadier figure). */
#include "bench_clock.h"
#include <hwjose/hwjose.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static hwj_key *key;
static atomic_long total;
static double seconds;

static double now(void)
{
    return bench_clock_s(CLOCK_MONOTONIC);
}

static void *run(void *arg)
{
    (void)arg;
    const char *aud[] = {"bench"};
    hwj_jwt_issue_opts o = {.size = sizeof(hwj_jwt_issue_opts),
                            .iss = "https://bench",
                            .sub = "user-1",
                            .aud = aud,
                            .naud = 1,
                            .ttl = 900,
                            .claims_json = "{\"role\":\"reader\"}",
                            .alg = HWJ_ALG_ES256};
    double end = now() + seconds;
    long n = 0;
    while (now() < end) {
        char *jwt = NULL;
        hwj_error err = {0};
        if (hwj_jwt_issue(key, &o, &jwt, &err) != HWJ_OK) {
            fprintf(stderr, "hwj_jwt_issue: %s\n", err.message);
            exit(1);
        }
        hwj_free(jwt);
        n++;
    }
    atomic_fetch_add(&total, n);
    return NULL;
}

int main(int argc, char **argv)
{
    hwj_ctx *ctx = NULL;
    hwj_error err = {0};
    if (argc != 4) {
        fprintf(stderr, "usage: bench_server_lib URI THREADS SECONDS\n");
        return 2;
    }
    int threads = atoi(argv[2]);
    seconds = atof(argv[3]);
    if (hwj_ctx_new(&ctx, &err) != HWJ_OK ||
        hwj_key_open(ctx, argv[1], NULL, &key, &err) != HWJ_OK) {
        fprintf(stderr, "bench_server_lib: %s\n", err.message);
        return 1;
    }
    pthread_t th[64];
    if (threads < 1 || threads > 64)
        threads = 2;
    double cpu0 = bench_clock_s(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, run, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    printf("issues_per_second %.0f\ncpu_seconds %.3f\n", (double)atomic_load(&total) / seconds,
           bench_clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0);
    hwj_key_free(key);
    hwj_ctx_free(ctx);
    return 0;
}
