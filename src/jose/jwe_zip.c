/* jwe_zip.c: "zip":"DEF", raw DEFLATE (RFC 1951; RFC 7516 §4.1.3) through zlib.
 * Inflation is capped in absolute size and in ratio: a zip bomb stops early. */
#include "jose/jwe_internal.h"

#include "core/error.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define RATIO_FLOOR (64u * 1024u) /* the ratio check applies beyond this much output */

hwj_err hwj_jwe_deflate(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen,
                        hwj_error *err)
{
    z_stream zs;
    uint8_t *buf = NULL;
    size_t cap;
    hwj_err rc = HWJ_OK;

    memset(&zs, 0, sizeof(zs));
    if (len > UINT32_MAX)
        return hwj_error_set(err, HWJ_ERR_LIMIT, "plaintext too large to compress");
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return hwj_error_set(err, HWJ_ERR_INTERNAL, "zlib deflateInit2 failed");
    cap = deflateBound(&zs, (uLong)len);
    if ((buf = malloc(cap + 1)) == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        rc = hwj_error_set(err, HWJ_ERR_INTERNAL, "zlib deflate failed");
        goto out;
    }
    *outlen = zs.total_out;
    *out = buf;
    buf = NULL;
out:
    deflateEnd(&zs);
    hwj_free_secret(buf, buf ? cap + 1 : 0);
    return rc;
}

hwj_err hwj_jwe_inflate(const uint8_t *in, size_t len, size_t max, unsigned ratio, uint8_t **out,
                        size_t *outlen, hwj_error *err)
{
    z_stream zs;
    uint8_t *buf = NULL, *nb;
    size_t cap = len * 4 + 256, used = 0;
    int zr = Z_OK;

    if (max == 0)
        max = HWJ_JWE_DEFAULT_MAX_INFLATED;
    if (ratio == 0)
        ratio = HWJ_JWE_DEFAULT_MAX_RATIO;
    memset(&zs, 0, sizeof(zs));
    if (len > UINT32_MAX || inflateInit2(&zs, -15) != Z_OK)
        return hwj_error_set(err, HWJ_ERR_DECRYPT, "decryption failed");
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    for (;;) {
        if (cap > max + 1)
            cap = max + 1; /* one byte beyond the cap tells "over" from "exactly at" */
        if ((nb = realloc(buf, cap + 1)) == NULL)
            goto fail;
        buf = nb;
        zs.next_out = buf + used;
        zs.avail_out = (uInt)(cap - used);
        zr = inflate(&zs, Z_NO_FLUSH);
        used = zs.total_out;
        if (zr == Z_STREAM_END)
            break;
        if ((zr != Z_OK && zr != Z_BUF_ERROR) || used > max ||
            (used > RATIO_FLOOR && used / ratio > len))
            goto fail;
        if (zs.avail_out == 0) {
            if (cap > max)
                goto fail;
            cap *= 2;
        } else if (zs.avail_in == 0) {
            goto fail; /* truncated stream */
        }
    }
    /* Trailing bytes after the final block, over max or over ratio: all refused. */
    if (zs.avail_in != 0 || used > max || (used > RATIO_FLOOR && used / ratio > len))
        goto fail;
    inflateEnd(&zs);
    buf[used] = '\0';
    *out = buf;
    *outlen = used;
    return HWJ_OK;
fail:
    inflateEnd(&zs);
    hwj_free_secret(buf, buf ? cap + 1 : 0);
    return hwj_error_set(err, HWJ_ERR_DECRYPT, "decryption failed");
}
