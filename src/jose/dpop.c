/* dpop.c: making DPoP proofs (RFC 9449 §4.2) with a key that may never leave its token, and the
 * two derived values both sides compute: the normalised htu and ath. Verification is in
 * dpop_verify.c, the replay cache in dpop_replay.c. */
#include "core/b64url.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/json.h"
#include "jose/dpop_internal.h"

#include <hwjose/dpop.h>
#include <hwjose/jws.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DPOP_JTI_BYTES 16
#define DPOP_URL_MAX 8192

int64_t hwj_dpop_now(hwj_clock_fn clock, void *arg)
{
    return clock != NULL ? clock(arg) : (int64_t)time(NULL);
}

int hwj_dpop_alg_ok(hwj_alg alg)
{
    return hwj_alg_get_kind(alg) == HWJ_ALG_KIND_JWS && alg != HWJ_ALG_HS256 &&
           alg != HWJ_ALG_HS384 && alg != HWJ_ALG_HS512;
}

HWJ_EXPORT hwj_err hwj_dpop_ath(const char *access_token, char **out, hwj_error *err)
{
    uint8_t md[32];
    unsigned int mdlen = 0;

    hwj_error_reset(err);
    if (access_token == NULL || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_dpop_ath: missing argument");
    if (EVP_Digest(access_token, strlen(access_token), md, &mdlen, hwj_md_sha256(), NULL) != 1)
        return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "hashing the access token");
    return hwj_b64url_encode(md, mdlen, out, err);
}

/* --- htu (RFC 3986 §6.2.2: case, percent-encoding and path segment normalisation) -------- */

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Percent-encodings uppercased, unreserved ones decoded; -1 on a broken encoding or a byte
 * that a URL may not hold (controls, space, non-ASCII). Writes at most n bytes to `o`. */
static int norm_pct(const char *s, size_t n, char *o, int lower_case)
{
    static const char hex[] = "0123456789ABCDEF";
    int w = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int h, l;
            if (i + 2 >= n || (h = hexval((unsigned char)s[i + 1])) < 0 ||
                (l = hexval((unsigned char)s[i + 2])) < 0)
                return -1;
            c = (unsigned char)(h * 16 + l);
            if (is_unreserved(c)) {
                o[w++] = lower_case ? lower((char)c) : (char)c;
            } else {
                o[w++] = '%';
                o[w++] = hex[c >> 4];
                o[w++] = hex[c & 15];
            }
            i += 2;
        } else if (c <= 0x20 || c >= 0x7f) {
            return -1;
        } else {
            o[w++] = lower_case ? lower((char)c) : (char)c;
        }
    }
    return w;
}

/* RFC 3986 §5.2.4 on a path that starts with '/', in place (the output never overtakes the
 * input). */
static void remove_dots(char *p)
{
    char *in = p, *out = p;
    while (*in != '\0') {
        if (strncmp(in, "/./", 3) == 0) {
            in += 2;
        } else if (strcmp(in, "/.") == 0) {
            *++in = '/';
        } else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
            in += in[3] == '/' ? 3 : 2;
            *in = '/';
            while (out > p && *--out != '/')
                ;
        } else {
            do
                *out++ = *in++;
            while (*in != '\0' && *in != '/');
        }
    }
    *out = '\0';
    if (*p == '\0')
        strcpy(p, "/");
}

HWJ_EXPORT hwj_err hwj_dpop_htu_normalize(const char *url, char **out, hwj_error *err)
{
    const char *p, *auth, *auth_end, *host_end, *path, *path_end;
    size_t slen, len;
    char *o = NULL, *w;
    int n, https;
    long port = -1;

    hwj_error_reset(err);
    if (url == NULL || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_dpop_htu_normalize: missing argument");
    if ((len = strlen(url)) > DPOP_URL_MAX)
        return hwj_error_set(err, HWJ_ERR_LIMIT, "the URL is longer than %d bytes", DPOP_URL_MAX);
    if ((p = strstr(url, "://")) == NULL)
        goto bad;
    slen = (size_t)(p - url);
    if (slen == 5 && strncasecmp(url, "https", 5) == 0)
        https = 1;
    else if (slen == 4 && strncasecmp(url, "http", 4) == 0)
        https = 0;
    else
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "htu must be an http or https URL (RFC 9449 §4.2)");
    auth = p + 3;
    auth_end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL)
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "htu may not carry user information (user@ or user:password@)");
    host_end = auth_end;
    if (*auth == '[') { /* IPv6 literal */
        const char *rb = memchr(auth, ']', (size_t)(auth_end - auth));
        if (rb == NULL)
            goto bad;
        host_end = rb + 1;
    } else {
        const char *c = memchr(auth, ':', (size_t)(auth_end - auth));
        if (c != NULL)
            host_end = c;
    }
    if (host_end == auth)
        goto bad;
    if (host_end < auth_end) {
        if (*host_end != ':')
            goto bad;
        port = 0;
        for (const char *q = host_end + 1; q < auth_end; q++) {
            if (*q < '0' || *q > '9' || port > 65535)
                goto bad;
            port = port * 10 + (*q - '0');
        }
        if (port > 65535)
            goto bad;
        if (host_end + 1 == auth_end)
            port = -1; /* "host:" is the default port (RFC 3986 §6.2.3) */
    }
    path = auth_end;
    path_end = path + strcspn(path, "?#");
    /* "https://" + host + ":65535" + "/" + path: each byte grows to at most itself */
    if ((o = malloc(len + 16)) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    w = o + (https ? 8 : 7);
    memcpy(o, https ? "https://" : "http://", (size_t)(w - o));
    if ((n = norm_pct(auth, (size_t)(host_end - auth), w, 1)) < 0)
        goto bad;
    w += n;
    if (port >= 0 && port != (https ? 443 : 80))
        w += sprintf(w, ":%ld", port);
    if (path == path_end) {
        *w++ = '/';
        *w = '\0';
    } else {
        if ((n = norm_pct(path, (size_t)(path_end - path), w, 0)) < 0)
            goto bad;
        w[n] = '\0';
        remove_dots(w);
    }
    *out = o;
    return HWJ_OK;
bad:
    free(o);
    return hwj_error_set(err, HWJ_ERR_PARSE,
                         "htu is not a valid absolute URL; write it as "
                         "https://host[:port]/path (RFC 3986)");
}

/* --- proofs ---------------------------------------------------------------------------- */

static hwj_err add(json_t *obj, const char *name, json_t *v, hwj_error *err)
{
    if (v == NULL || json_object_set_new(obj, name, v) != 0)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory building the DPoP proof");
    return HWJ_OK;
}

/* The protected header's extra members, as text: typ and the key's public JWK, its required
 * members only, computed from the public key at open (so a private part can never get there,
 * whatever the key holds, and no per-proof key export). */
static hwj_err proof_header(hwj_key *key, char **out, hwj_error *err)
{
    static const char pre[] = "{\"typ\":\"dpop+jwt\",\"jwk\":";
    const char *jwk = hwj_key_get0_public_members(key);
    size_t n;

    if (jwk == NULL)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "a DPoP proof needs an asymmetric key (its public key goes in the "
                             "proof)");
    n = sizeof(pre) + strlen(jwk) + 1;
    if ((*out = malloc(n)) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    snprintf(*out, n, "%s%s}", pre, jwk);
    return HWJ_OK;
}

static hwj_err proof_claims(const hwj_dpop_proof_opts *o, char **out, hwj_error *err)
{
    uint8_t raw[DPOP_JTI_BYTES];
    char jti[32], *htu = NULL, *ath = NULL;
    json_t *c = json_object();
    hwj_err rc;

    if (c == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "random jti");
        goto out;
    }
    hwj_b64url_encode_to(raw, sizeof(raw), jti);
    if ((rc = hwj_dpop_htu_normalize(o->htu, &htu, err)) != HWJ_OK ||
        (o->access_token != NULL && (rc = hwj_dpop_ath(o->access_token, &ath, err)) != HWJ_OK))
        goto out;
    if ((rc = add(c, "jti", json_string(jti), err)) != HWJ_OK ||
        (rc = add(c, "htm", json_string(o->htm), err)) != HWJ_OK ||
        (rc = add(c, "htu", json_string(htu), err)) != HWJ_OK ||
        (rc = add(c, "iat", json_integer(hwj_dpop_now(o->clock, o->clock_arg)), err)) != HWJ_OK ||
        (ath != NULL && (rc = add(c, "ath", json_string(ath), err)) != HWJ_OK) ||
        (o->nonce != NULL && (rc = add(c, "nonce", json_string(o->nonce), err)) != HWJ_OK))
        goto out;
    rc = hwj_json_dump(c, out, err);
out:
    json_decref(c);
    free(ath);
    free(htu);
    return rc;
}

/* An HTTP method is a token (RFC 9110 §9.1); DPoP compares it case-sensitively. */
static int is_method(const char *m)
{
    if (m == NULL || *m == '\0' || strlen(m) > 32)
        return 0;
    for (; *m != '\0'; m++)
        if (!((*m >= 'A' && *m <= 'Z') || (*m >= 'a' && *m <= 'z') || (*m >= '0' && *m <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *m) != NULL))
            return 0;
    return 1;
}

HWJ_EXPORT hwj_err hwj_dpop_proof(hwj_key *key, const hwj_dpop_proof_opts *opts, char **proof,
                                  hwj_error *err)
{
    hwj_jws_sign_opts so = HWJ_JWS_SIGN_OPTS_INIT;
    char *header = NULL, *claims = NULL;
    hwj_err rc;

    hwj_error_reset(err);
    if (key == NULL || opts == NULL || proof == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_dpop_proof: missing argument");
    if (opts->size < sizeof(hwj_dpop_proof_opts))
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "hwj_dpop_proof: set opts.size to sizeof(hwj_dpop_proof_opts)");
    if (!is_method(opts->htm))
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "a DPoP proof needs the request's HTTP method "
                             "(htm), e.g. POST");
    if (opts->htu == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "a DPoP proof needs the request's URL (htu)");
    so.alg = opts->alg != HWJ_ALG_UNKNOWN ? opts->alg : hwj_key_default_alg(key);
    if (so.alg == HWJ_ALG_UNKNOWN)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "key '%s' has no asymmetric JWS alg of its own: a DPoP proof is "
                             "signed with an EC, OKP or RSA key (choose the alg if it has several)",
                             hwj_key_get0_uri(key));
    if (!hwj_dpop_alg_ok(so.alg))
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "a DPoP proof is signed with an asymmetric JWS alg, not '%s'",
                             hwj_alg_name(so.alg) ? hwj_alg_name(so.alg) : "unknown");
    so.kid = ""; /* the key travels as "jwk" */
    so.format = HWJ_JWS_COMPACT;
    if ((rc = proof_header(key, &header, err)) != HWJ_OK ||
        (rc = proof_claims(opts, &claims, err)) != HWJ_OK)
        goto out;
    so.header_json = header;
    rc = hwj_jws_sign(key, (const uint8_t *)claims, strlen(claims), &so, proof, err);
out:
    free(claims);
    free(header);
    return rc;
}
