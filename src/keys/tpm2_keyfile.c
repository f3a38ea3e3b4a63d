/* tpm2_keyfile.c: the "TSS2 PRIVATE KEY" PEM file, as tpm2-openssl and openssl_tpm2_engine
 * write it (draft-bottomley-tpm2-keys), so that keys move freely between them and hwjose:
 *
 *   TPMKey ::= SEQUENCE {
 *       type        OBJECT IDENTIFIER,          -- 2.23.133.10.1.3, a loadable key
 *       emptyAuth   [0] EXPLICIT BOOLEAN OPTIONAL,
 *       parent      INTEGER,                    -- 0x40000001: the owner storage primary
 *       pubkey      OCTET STRING,               -- marshalled TPM2B_PUBLIC
 *       privkey     OCTET STRING }              -- marshalled TPM2B_PRIVATE (TPM-wrapped)
 *
 * The policy [1], secret [2] and authPolicy [3] members (policy-bound and imported keys)
 * are not supported: such files fail to decode with a message saying so. */
#include "keys/tpm2_internal.h"

#include "core/error.h"
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tss2/tss2_mu.h>
#include <unistd.h>

#define OID_LOADABLE_KEY "2.23.133.10.1.3"
#define PEM_NAME "TSS2 PRIVATE KEY"
#define KEYFILE_MAX (64 * 1024)

typedef struct {
    ASN1_OBJECT *type;
    ASN1_BOOLEAN empty_auth;
    ASN1_INTEGER *parent;
    ASN1_OCTET_STRING *pubkey;
    ASN1_OCTET_STRING *privkey;
} TSSPRIVKEY;

ASN1_SEQUENCE(TSSPRIVKEY) =
    {
        ASN1_SIMPLE(TSSPRIVKEY, type, ASN1_OBJECT),
        ASN1_EXP_OPT(TSSPRIVKEY, empty_auth, ASN1_BOOLEAN, 0),
        ASN1_SIMPLE(TSSPRIVKEY, parent, ASN1_INTEGER),
        ASN1_SIMPLE(TSSPRIVKEY, pubkey, ASN1_OCTET_STRING),
        ASN1_SIMPLE(TSSPRIVKEY, privkey, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(TSSPRIVKEY)

        static void tsskey_free(TSSPRIVKEY * k)
{
    ASN1_item_free((ASN1_VALUE *)k, ASN1_ITEM_rptr(TSSPRIVKEY));
}

hwj_err tpm2_keyfile_read(const char *path, tpm2_keyfile *out, hwj_error *err)
{
    char *text = NULL, *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    const unsigned char *p;
    long derlen = 0;
    size_t len = 0;
    TSSPRIVKEY *k = NULL;
    BIO *bio = NULL;

    tpm2_tss_quiet(); /* the unmarshalling below may log */
    tpm2_keyfile kf = {0};
    char oid[64];
    uint64_t parent = 0;
    hwj_err rc;

    if ((rc = hwj_file_read(path, KEYFILE_MAX, "TPM key file", &text, &len, err)) != HWJ_OK)
        return rc;
    rc = HWJ_ERR_PARSE;
    if ((bio = BIO_new_mem_buf(text, (int)len)) == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!PEM_read_bio(bio, &name, &header, &der, &derlen) || strcmp(name, PEM_NAME) != 0) {
        ERR_clear_error();
        hwj_error_set(err, HWJ_ERR_PARSE,
                      "'%s' is not a TPM key file (-----BEGIN " PEM_NAME "-----); generate "
                      "one into tpm2:file=%s or with `openssl genpkey -provider tpm2`",
                      path, path);
        goto out;
    }
    p = der;
    k = (TSSPRIVKEY *)ASN1_item_d2i(NULL, &p, derlen, ASN1_ITEM_rptr(TSSPRIVKEY));
    if (k == NULL || p != der + derlen) {
        ERR_clear_error();
        hwj_error_set(err, HWJ_ERR_PARSE,
                      "TPM key file '%s' does not decode as a loadable TSS2 key (keys with a "
                      "policy or an import secret are not supported)",
                      path);
        goto out;
    }
    if (!OBJ_obj2txt(oid, sizeof(oid), k->type, 1) || strcmp(oid, OID_LOADABLE_KEY) != 0) {
        hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                      "TPM key file '%s' has type %s; only loadable keys (" OID_LOADABLE_KEY
                      ") are supported",
                      path, oid);
        goto out;
    }
    if (!ASN1_INTEGER_get_uint64(&parent, k->parent) || parent > UINT32_MAX) {
        ERR_clear_error();
        hwj_error_set(err, HWJ_ERR_PARSE, "TPM key file '%s' has an invalid parent handle", path);
        goto out;
    }
    kf.parent = parent == 0 ? TPM2_RH_OWNER : (TPM2_HANDLE)parent;
    kf.empty_auth = k->empty_auth > 0; /* -1: absent */
    if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(k->pubkey->data, (size_t)k->pubkey->length, NULL, &kf.pub) !=
            TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_PRIVATE_Unmarshal(k->privkey->data, (size_t)k->privkey->length, NULL,
                                        &kf.priv) != TSS2_RC_SUCCESS) {
        hwj_error_set(err, HWJ_ERR_PARSE,
                      "TPM key file '%s' holds a malformed TPM2B_PUBLIC or TPM2B_PRIVATE", path);
        goto out;
    }
    *out = kf;
    rc = HWJ_OK;
out:
    tsskey_free(k);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(bio);
    hwj_free_secret(text, len + 1);
    OPENSSL_cleanse(&kf, sizeof(kf));
    return rc;
}

/* The PEM text of `kf` in a new BIO. */
static hwj_err encode(const tpm2_keyfile *kf, BIO **out, hwj_error *err)
{
    uint8_t pubbuf[sizeof(TPM2B_PUBLIC)], privbuf[sizeof(TPM2B_PRIVATE)];
    size_t publen = 0, privlen = 0;
    unsigned char *der = NULL;
    int derlen;
    TSSPRIVKEY *k = (TSSPRIVKEY *)ASN1_item_new(ASN1_ITEM_rptr(TSSPRIVKEY));
    BIO *bio = BIO_new(BIO_s_mem());
    hwj_err rc = HWJ_OK;

    if (k == NULL || bio == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (Tss2_MU_TPM2B_PUBLIC_Marshal(&kf->pub, pubbuf, sizeof(pubbuf), &publen) ||
        Tss2_MU_TPM2B_PRIVATE_Marshal(&kf->priv, privbuf, sizeof(privbuf), &privlen)) {
        rc = hwj_error_set(err, HWJ_ERR_INTERNAL, "cannot marshal the TPM key blobs");
        goto out;
    }
    k->type = OBJ_txt2obj(OID_LOADABLE_KEY, 1);
    k->empty_auth = kf->empty_auth ? 0xff : -1; /* absent means "auth needed", as tpm2-openssl */
    if (k->type == NULL || !ASN1_INTEGER_set_uint64(k->parent, kf->parent) ||
        !ASN1_OCTET_STRING_set(k->pubkey, pubbuf, (int)publen) ||
        !ASN1_OCTET_STRING_set(k->privkey, privbuf, (int)privlen) ||
        (derlen = ASN1_item_i2d((ASN1_VALUE *)k, &der, ASN1_ITEM_rptr(TSSPRIVKEY))) <= 0 ||
        !PEM_write_bio(bio, PEM_NAME, "", der, derlen)) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "encoding the TPM key file");
        goto out;
    }
    *out = bio;
    bio = NULL;
out:
    OPENSSL_free(der);
    tsskey_free(k);
    BIO_free(bio);
    return rc;
}

static hwj_err io_error(hwj_error *err, const char *what, const char *path)
{
    int e = errno;
    return hwj_error_set_native(err, HWJ_ERR_IO, HWJ_SRC_ERRNO, (unsigned long)e, "%s '%s': %s",
                                what, path, strerror(e));
}

hwj_err tpm2_keyfile_write(const char *path, const tpm2_keyfile *kf, hwj_error *err)
{
    BIO *bio = NULL;
    char *tmp = NULL, *dircopy = NULL;
    const char *data;
    long n;
    int fd = -1;
    hwj_err rc;

    if ((rc = encode(kf, &bio, err)) != HWJ_OK)
        return rc;
    n = BIO_get_mem_data(bio, &data);
    if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0) {
        tmp = NULL;
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((fd = mkstemp(tmp)) < 0) { /* mode 0600 */
        rc = io_error(err, "cannot create a temporary file next to the key file", path);
        free(tmp);
        tmp = NULL;
        goto out;
    }
    for (long off = 0; off < n;) {
        ssize_t w = write(fd, data + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = io_error(err, "cannot write the key file", tmp);
            goto out;
        }
        off += w;
    }
    if (fsync(fd) != 0) {
        rc = io_error(err, "cannot sync the key file", tmp);
        goto out;
    }
    /* link() does not replace an existing file: an existing key is never overwritten. */
    if (link(tmp, path) != 0) {
        if (errno == EEXIST)
            rc =
                hwj_error_set(err, HWJ_ERR_ARG,
                              "key file '%s' exists; choose another path or remove it first", path);
        else
            rc = io_error(err, "cannot create the key file", path);
        goto out;
    }
    if ((dircopy = strdup(path)) != NULL) {
        int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
out:
    if (fd >= 0)
        close(fd);
    if (tmp != NULL) {
        unlink(tmp);
        free(tmp);
    }
    free(dircopy);
    BIO_free(bio);
    return rc;
}
