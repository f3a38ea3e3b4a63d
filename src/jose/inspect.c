/* inspect.c: hwj_token_inspect — a compact JWS/JWT/JWE decoded without any check, for people
 * debugging tokens. Nothing it returns is trustworthy; it shares no code path with verification
 * so that it can never be mistaken for (or weaken) one. */
#include "core/b64url.h"
#include "core/error.h"
#include "core/json.h"

#include <hwjose/jwt.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The protected header, as compact JSON (a JSON object, or refused). */
static hwj_err decode_header(const char *b64, size_t len, char **out, hwj_error *err)
{
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    json_t *h = NULL;
    hwj_err rc;

    if ((rc = hwj_b64url_decode(b64, len, &raw, &rawlen, "header", err)) != HWJ_OK ||
        (rc = hwj_json_parse_object((const char *)raw, rawlen, HWJ_DEFAULT_MAX_DEPTH, "header", &h,
                                    err)) != HWJ_OK ||
        (rc = hwj_json_dump(h, out, err)) != HWJ_OK)
        goto out;
out:
    json_decref(h);
    free(raw);
    return rc;
}

HWJ_EXPORT hwj_err hwj_token_inspect(const char *tok, size_t len, char **header_json,
                                     uint8_t **payload, size_t *payload_len, hwj_error *err)
{
    const char *dot[4] = {0};
    size_t ndots = 0;
    char *hdr = NULL;
    uint8_t *pl = NULL;
    size_t pllen = 0;
    hwj_err rc;

    hwj_error_reset(err);
    if (tok == NULL || header_json == NULL || payload == NULL || payload_len == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_token_inspect: missing argument");
    if (len > HWJ_DEFAULT_MAX_SIZE)
        return hwj_error_set(err, HWJ_ERR_LIMIT, "the token is %zu bytes; the limit is %u", len,
                             HWJ_DEFAULT_MAX_SIZE);
    while (len > 0 && strchr(" \t\r\n", tok[len - 1]) != NULL && tok[len - 1] != '\0')
        len--;
    for (size_t i = 0; i < len; i++)
        if (tok[i] == '.' && ndots++ < 4)
            dot[ndots - 1] = tok + i;
    if (ndots != 2 && ndots != 4)
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "not a compact JWS/JWT (3 parts) or JWE (5 parts): %zu parts; a "
                             "JSON serialization is readable as it is",
                             ndots + 1);
    if ((rc = decode_header(tok, (size_t)(dot[0] - tok), &hdr, err)) != HWJ_OK) {
        hwj_error_prefix(err, "the token's header");
        return rc;
    }
    if (ndots == 2 && (rc = hwj_b64url_decode(dot[0] + 1, (size_t)(dot[1] - dot[0] - 1), &pl,
                                              &pllen, "payload", err)) != HWJ_OK) {
        hwj_error_prefix(err, "the token's payload");
        free(hdr);
        return rc;
    }
    *header_json = hdr;
    *payload = pl; /* a JWE's content stays encrypted: NULL */
    *payload_len = pllen;
    return HWJ_OK;
}
