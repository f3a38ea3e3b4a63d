/*
 * bench_tls.c: TLS handshakes per second with the server's key in SoftHSM through the hwjose
 * OpenSSL provider, against the same key as a PEM file (an EVP_PKEY in memory), in one run.
 *
 *   bench_tls [HANDSHAKES]      (default 400)
 *
 * It makes a SoftHSM token (scripts/softhsm-token.sh), generates an ECDSA P-256 and an RSA-2048
 * key in software, imports each into the token (sensitive, non-extractable) and self-signs a
 * certificate with it. Then, per key and TLS version (1.2, 1.3), full handshakes (no
 * resumption) between a client and a server SSL in this thread over a memory BIO pair: the
 * server's key either the software EVP_PKEY or the token's, loaded from hwjose:pkcs11:… through
 * the provider module (build/provider/hwjose.so). The runs take turns — PEM, token, PEM — and
 * the baseline is the mean of the two PEM runs. Both sides of the handshake are in the
 * figure (the client's key exchange and verification too), as a client sees it. See
 * docs/benchmarks.md.
 */
#include "bench_clock.h"
#include "test_jwe_p11import.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/store.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN "hwjose-bench-tls"

/* CPU time of this thread: SoftHSM and both TLS ends work in it, so handshakes per CPU-second
 * compare the runs even when other processes take the cores (as bench_jwe does). */
static double now(void)
{
    return bench_clock_s(CLOCK_THREAD_CPUTIME_ID);
}

static X509 *self_signed(EVP_PKEY *pk)
{
    X509 *x = X509_new();
    X509_NAME *n = x ? X509_get_subject_name(x) : NULL;
    if (x == NULL || !X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
        !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"bench", -1, -1,
                                    0) ||
        !X509_set_issuer_name(x, n) || !X509_set_pubkey(x, pk) || !X509_sign(x, pk, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static EVP_PKEY *token_key(const char *uri)
{
    OSSL_STORE_CTX *st = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    EVP_PKEY *pk = NULL;
    while (st != NULL && pk == NULL && !OSSL_STORE_eof(st)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(st);
        if (info == NULL)
            break;
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            pk = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(st);
    return pk;
}

static SSL_CTX *server_ctx(X509 *cert, EVP_PKEY *pk, int version)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    if (c == NULL || !SSL_CTX_set_min_proto_version(c, version) ||
        !SSL_CTX_set_max_proto_version(c, version) || SSL_CTX_use_certificate(c, cert) != 1 ||
        SSL_CTX_use_PrivateKey(c, pk) != 1) {
        SSL_CTX_free(c);
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(c, 0);
    return c;
}

/* n full handshakes; handshakes per second, 0 on failure. */
static double handshakes(SSL_CTX *srv, SSL_CTX *cli, int n)
{
    double t0 = now();
    for (int i = 0; i < n; i++) {
        SSL *s = SSL_new(srv), *c = SSL_new(cli);
        BIO *bs = NULL, *bc = NULL;
        int done = 0;
        if (s == NULL || c == NULL || !BIO_new_bio_pair(&bs, 0, &bc, 0))
            return 0;
        SSL_set_bio(s, bs, bs);
        SSL_set_bio(c, bc, bc);
        SSL_set_accept_state(s);
        SSL_set_connect_state(c);
        for (int turn = 0; turn < 20 && done != 3; turn++) {
            if (!(done & 1) && SSL_do_handshake(c) == 1)
                done |= 1;
            if (!(done & 2) && SSL_do_handshake(s) == 1)
                done |= 2;
        }
        SSL_free(c);
        SSL_free(s);
        if (done != 3) {
            ERR_print_errors_fp(stderr);
            return 0;
        }
    }
    return n / (now() - t0);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 400;
    static const struct {
        const char *name, *type;
        size_t bits;
    } keys[] = {{"ECDSA P-256", "EC", 0}, {"RSA-2048 (PSS)", "RSA", 2048}};
    char dir[4096], path[4400], cmd[8800], pin[128] = "", uri[8800];
    SSL_CTX *cli = SSL_CTX_new(TLS_client_method());
    FILE *f;

    snprintf(dir, sizeof(dir), "%s/hwjose-bench-tls.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (n <= 0 || cli == NULL || mkdtemp(dir) == NULL)
        return 1;
    snprintf(cmd, sizeof(cmd),
             "bash '%s/scripts/softhsm-token.sh' create '%s' " TOKEN " >/dev/null", HWJ_SOURCE_DIR,
             dir);
    snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
    setenv("SOFTHSM2_CONF", path, 1);
    snprintf(path, sizeof(path), "%s/user.pin", dir);
    if (system(cmd) != 0 || (f = fopen(path, "r")) == NULL || fgets(pin, sizeof(pin), f) == NULL) {
        fprintf(stderr, "bench_tls: making the SoftHSM token in %s failed\n", dir);
        return 1;
    }
    fclose(f);
    pin[strcspn(pin, "\r\n")] = '\0';
    /* The default provider first, then the module as a user loads it. */
    if (OSSL_PROVIDER_load(NULL, "default") == NULL ||
        !OSSL_PROVIDER_set_default_search_path(NULL, HWJ_PROVIDER_DIR) ||
        OSSL_PROVIDER_load(NULL, "hwjose") == NULL) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    SSL_CTX_set_verify(cli, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(cli, SSL_SESS_CACHE_OFF);

    printf("# bench_tls: %d full handshakes per run, client and server in one thread, "
           "SoftHSM through the provider vs the same key in memory\n",
           n);
    printf("%-16s %-4s %14s %14s %8s\n", "key", "TLS", "PEM hs/CPU-s", "token hs/CPU-s", "ratio");
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        EVP_PKEY *soft = keys[k].bits ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", keys[k].bits)
                                      : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        char label[16];
        snprintf(label, sizeof(label), "tls-%zu", k);
        X509 *cert = soft ? self_signed(soft) : NULL;
        if (cert == NULL ||
            jt_p11_import(HWJ_SOFTHSM_MODULE, TOKEN, pin, soft, label, (unsigned char)(k + 1)) != 0)
            return 1;
        snprintf(uri, sizeof(uri),
                 "hwjose:pkcs11:token=" TOKEN ";object=%s?module-path=%s&pin-source=file:%s", label,
                 HWJ_SOFTHSM_MODULE, path);
        EVP_PKEY *tok = token_key(uri);
        if (tok == NULL) {
            ERR_print_errors_fp(stderr);
            return 1;
        }
        for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
            SSL_CTX *sp = server_ctx(cert, soft, v), *st = server_ctx(cert, tok, v);
            double pem1, hw, pem2;
            if (sp == NULL || st == NULL) {
                ERR_print_errors_fp(stderr);
                return 1;
            }
            pem1 = handshakes(sp, cli, n);
            hw = handshakes(st, cli, n);
            pem2 = handshakes(sp, cli, n);
            printf("%-16s %-4s %14.0f %14.0f %7.1f%%\n", keys[k].name,
                   v == TLS1_3_VERSION ? "1.3" : "1.2", (pem1 + pem2) / 2, hw,
                   100.0 * hw / ((pem1 + pem2) / 2));
            SSL_CTX_free(sp);
            SSL_CTX_free(st);
        }
        EVP_PKEY_free(tok);
        EVP_PKEY_free(soft);
        X509_free(cert);
    }
    SSL_CTX_free(cli);
    snprintf(cmd, sizeof(cmd), "bash '%s/scripts/softhsm-token.sh' destroy '%s' >/dev/null",
             HWJ_SOURCE_DIR, dir);
    return system(cmd) == 0 ? 0 : 1;
}
