/* jwks_cache_internal.h: the parts of the remote JWKS cache shared by its files:
 * jwks_cache.c (state, refetch policy, snapshots), jwks_cache_fetch.c (libcurl) and
 * jwks_cache_verify.c (kid lookup and the verify wrappers). */
#ifndef HWJ_JOSE_JWKS_CACHE_INTERNAL_H
#define HWJ_JOSE_JWKS_CACHE_INTERNAL_H

#include <hwjose/jwks_cache.h>

#include <curl/curl.h>

/* What one HTTP exchange produced. Release with jc_response_clear. */
typedef struct jc_response {
    long status; /* 200 or 304 when jc_fetch returns HWJ_OK */
    char *body;  /* 200 only; NUL-terminated */
    size_t len;
    char *etag;      /* NULL when absent or unusable */
    int64_t max_age; /* seconds left per Cache-Control max-age minus Age; -1: none */
    int no_store;    /* Cache-Control no-store or no-cache */
} jc_response;

typedef struct jc_fetch_cfg {
    const char *url;
    const char *what;     /* named in errors: "JWKS", "OpenID configuration"; NULL: "JWKS" */
    int allow_plain_http; /* the URL is loopback or allow_http was given */
    int loopback;         /* bypass any proxy */
    size_t max_size;
    long connect_timeout_ms;
    long timeout_ms;
    const char *ca_file;
} jc_fetch_cfg;

/* Check `url` against the scheme/host rules; *loopback tells whether its host is. `what`
 * names the URL in errors ("jwks_uri", "issuer"). */
hwj_err jc_url_check(const char *url, const char *what, int allow_http, int *loopback,
                     hwj_error *err);
/* `in` with every zero member replaced by its default (see jwks_cache.h), checked. */
hwj_err jc_apply_defaults(const hwj_jwks_cache_opts *in, hwj_jwks_cache_opts *o, hwj_error *err);
/* curl_global_init, once per process. */
hwj_err jc_global_init(hwj_error *err);
/* One GET (If-None-Match: etag when not NULL) on the cache's easy handle. */
hwj_err jc_fetch(CURL *curl, const jc_fetch_cfg *cfg, const char *etag, jc_response *res,
                 hwj_error *err);
void jc_response_clear(jc_response *res);

/* How a caller wants the cache to treat its lookup. */
typedef enum jc_mode {
    JC_NORMAL = 0,  /* fetch when expired, or when none of `kids` is in the set */
    JC_MISSING = 1, /* as NORMAL, and treat the set as lacking the wanted key */
} jc_mode;

/* A usable snapshot per the refetch policy (see jwks_cache.h). */
hwj_err jc_acquire(hwj_jwks_cache *cache, const char *const *kids, size_t nkids, jc_mode mode,
                   hwj_jwks_snapshot **out, hwj_error *err);

#endif
