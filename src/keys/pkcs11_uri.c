/* pkcs11_uri.c: RFC 7512 URIs, parsed by p11-kit so that every corner of the syntax is the
 * one the rest of the PKCS#11 world uses. */
#include "keys/pkcs11_internal.h"

#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A fixed-width, space-padded PKCS#11 string as a C string. */
static void trim_copy(char *dst, const unsigned char *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
    while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
        dst[--n] = '\0';
}

hwj_err p11_uri_parse(const char *s, p11_uri *u, hwj_error *err)
{
    CK_ATTRIBUTE *a;
    int r;

    memset(u, 0, sizeof(*u));
    /* Any letter case, before parsing: a malformed URI must not reach a message with its PIN
     * (and p11-kit knows only the lower-case name). */
    for (const char *p = s; *p != '\0'; p++)
        if (strncasecmp(p, "pin-value", 9) == 0)
            return hwj_error_set(err, HWJ_ERR_POLICY,
                                 "the key URI carries pin-value, which would put the PIN in argv "
                                 "and logs; use pin-source=file:PATH or the HWJOSE_PIN "
                                 "environment variable instead");
    if ((u->uri = p11_kit_uri_new()) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    r = p11_kit_uri_parse(s, P11_KIT_URI_FOR_ANY, u->uri);
    if (r != P11_KIT_URI_OK) {
        p11_uri_clear(u);
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "'%s' is not a valid PKCS#11 URI (%s); the form is "
                             "pkcs11:token=T;object=NAME[?pin-source=file:PATH]",
                             s, p11_kit_uri_message(r));
    }
    if (p11_kit_uri_any_unrecognized(u->uri)) {
        p11_uri_clear(u);
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "PKCS#11 URI '%s' has an attribute this library does not use; use "
                             "token, object, id, type, serial, manufacturer, model, slot-id and "
                             "the queries module-path, module-name, pin-source",
                             s);
    }
    u->module_path = p11_kit_uri_get_module_path(u->uri);
    u->module_name = p11_kit_uri_get_module_name(u->uri);
    u->pin_source = p11_kit_uri_get_pin_source(u->uri);
    trim_copy(u->token, p11_kit_uri_get_token_info(u->uri)->label, 32);
    if ((a = p11_kit_uri_get_attribute(u->uri, CKA_LABEL)) != NULL) {
        if (a->ulValueLen >= sizeof(u->object)) {
            p11_uri_clear(u);
            return hwj_error_set(err, HWJ_ERR_LIMIT, "object= in '%s' is longer than 128 bytes", s);
        }
        memcpy(u->object, a->pValue, a->ulValueLen);
        u->object[a->ulValueLen] = '\0';
        u->has_object = 1;
    }
    if ((a = p11_kit_uri_get_attribute(u->uri, CKA_ID)) != NULL) {
        if (a->ulValueLen > sizeof(u->id)) {
            p11_uri_clear(u);
            return hwj_error_set(err, HWJ_ERR_LIMIT, "id= in '%s' is longer than 128 bytes", s);
        }
        memcpy(u->id, a->pValue, a->ulValueLen);
        u->idlen = a->ulValueLen;
        u->has_id = 1;
    }
    if ((a = p11_kit_uri_get_attribute(u->uri, CKA_CLASS)) != NULL &&
        a->ulValueLen == sizeof(CK_OBJECT_CLASS)) {
        memcpy(&u->cls, a->pValue, sizeof(u->cls));
        u->has_cls = 1;
    }
    return HWJ_OK;
}

void p11_uri_clear(p11_uri *u)
{
    if (u->uri != NULL)
        p11_kit_uri_free(u->uri);
    memset(u, 0, sizeof(*u));
}

enum { ENC_PATH, ENC_QUERY, ENC_ALL };

/* RFC 7512 pk11-pchar (path) and pk11-qchar (query): what may stay unencoded. */
static int plain(unsigned char c, int mode)
{
    if (c == '\0' || mode == ENC_ALL)
        return 0;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return strchr(mode == ENC_PATH ? "-._~:[]@!$'()*+,=&" : "-._~:[]@!$'()*+,=/?|", c) != NULL;
}

static void put_enc(FILE *f, const uint8_t *p, size_t n, int mode)
{
    for (size_t i = 0; i < n; i++) {
        if (plain(p[i], mode))
            fputc(p[i], f);
        else
            fprintf(f, "%%%02X", p[i]);
    }
}

char *p11_uri_for_object(const char *token, const char *label, const uint8_t *id, size_t idlen,
                         const char *module_path)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (f == NULL)
        return NULL;
    fputs("pkcs11:token=", f);
    put_enc(f, (const uint8_t *)token, strlen(token), ENC_PATH);
    if (label != NULL && *label != '\0') {
        fputs(";object=", f);
        put_enc(f, (const uint8_t *)label, strlen(label), ENC_PATH);
    } else if (idlen > 0) {
        fputs(";id=", f);
        put_enc(f, id, idlen, ENC_ALL);
    }
    fputs(";type=private", f);
    if (module_path != NULL) {
        fputs("?module-path=", f);
        put_enc(f, (const uint8_t *)module_path, strlen(module_path), ENC_QUERY);
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}
