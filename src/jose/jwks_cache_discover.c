/* jwks_cache_discover.c: an issuer's jwks_uri found the standard way, OpenID Connect
 * Discovery 1.0 §4 (RFC 8414 §3 for OAuth servers has the same shape): GET
 * ISSUER/.well-known/openid-configuration, whose "issuer" must equal ISSUER exactly (§4.3:
 * otherwise a document served for one issuer could name the keys of another), then a JWKS
 * cache for its "jwks_uri". The same URL rules, bounds and timeouts as the JWKS fetch. */
#include "core/error.h"
#include "core/json.h"
#include "jose/jwks_cache_internal.h"

#include <stdlib.h>
#include <string.h>

#define WELL_KNOWN "/.well-known/openid-configuration"
#define DISCOVERY_MAX_SIZE (64u * 1024u)

/* ISSUER + WELL_KNOWN, a terminating '/' of ISSUER removed first (§4.1). */
static hwj_err discovery_url(const char *issuer, char **out, hwj_error *err)
{
    size_t n = strlen(issuer);
    if (strchr(issuer, '?') != NULL || strchr(issuer, '#') != NULL)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "issuer '%s' has a query or fragment; an issuer identifier is an "
                             "https URL with neither",
                             issuer);
    if (n > 0 && issuer[n - 1] == '/')
        n--;
    char *url = malloc(n + sizeof(WELL_KNOWN));
    if (url == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    memcpy(url, issuer, n);
    memcpy(url + n, WELL_KNOWN, sizeof(WELL_KNOWN));
    *out = url;
    return HWJ_OK;
}

/* The document's jwks_uri, once its issuer matched. */
static hwj_err read_document(const char *issuer, const char *url, const jc_response *res,
                             char **jwks_uri, hwj_error *err)
{
    json_t *doc = NULL;
    hwj_err rc = hwj_json_parse_object(res->body, res->len, 0, "OpenID configuration", &doc, err);
    if (rc != HWJ_OK)
        return rc;
    const char *iss = json_string_value(json_object_get(doc, "issuer"));
    const char *uri = json_string_value(json_object_get(doc, "jwks_uri"));
    if (iss == NULL || strcmp(iss, issuer) != 0)
        rc = hwj_error_set(err, HWJ_ERR_POLICY,
                           "the OpenID configuration at '%s' names issuer '%s', not '%s'; its "
                           "keys are not this issuer's",
                           url, iss != NULL ? iss : "(none)", issuer);
    else if (uri == NULL || uri[0] == '\0')
        rc = hwj_error_set(err, HWJ_ERR_PARSE,
                           "the OpenID configuration at '%s' has no jwks_uri string", url);
    else if ((*jwks_uri = strdup(uri)) == NULL)
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    json_decref(doc);
    return rc;
}

HWJ_EXPORT hwj_err hwj_jwks_cache_discover(const char *issuer, const hwj_jwks_cache_opts *opts,
                                           hwj_jwks_cache **out, hwj_error *err)
{
    hwj_jwks_cache_opts o;
    jc_response res = {0};
    CURL *curl = NULL;
    char *url = NULL, *jwks_uri = NULL;
    int loopback = 0;
    hwj_err rc;

    hwj_error_reset(err);
    if (issuer == NULL || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwks_cache_discover: missing argument");
    if ((rc = jc_global_init(err)) != HWJ_OK || (rc = jc_apply_defaults(opts, &o, err)) != HWJ_OK ||
        (rc = jc_url_check(issuer, "issuer", o.allow_http, &loopback, err)) != HWJ_OK ||
        (rc = discovery_url(issuer, &url, err)) != HWJ_OK)
        goto out;
    if ((curl = curl_easy_init()) == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    jc_fetch_cfg cfg = {.url = url,
                        .what = "OpenID configuration",
                        .allow_plain_http = loopback || o.allow_http,
                        .loopback = loopback,
                        .max_size =
                            o.max_size < DISCOVERY_MAX_SIZE ? o.max_size : DISCOVERY_MAX_SIZE,
                        .connect_timeout_ms = o.connect_timeout_ms,
                        .timeout_ms = o.timeout_ms,
                        .ca_file = o.ca_file};
    if ((rc = jc_fetch(curl, &cfg, NULL, &res, err)) != HWJ_OK ||
        (rc = read_document(issuer, url, &res, &jwks_uri, err)) != HWJ_OK)
        goto out;
    /* The jwks_uri meets the same rules on its own (scheme, host, credentials). */
    rc = hwj_jwks_cache_new(jwks_uri, opts, out, err);
out:
    free(jwks_uri);
    jc_response_clear(&res);
    curl_easy_cleanup(curl);
    free(url);
    return rc;
}
