/* jwt_inspect.c: `hwjose jwt inspect` (alias `decode`): a token's header and claims, decoded and
 * printed WITHOUT any verification, for people debugging tokens. The output says so itself (a
 * top-level "UNVERIFIED" member) and on stderr, so that it is never taken for `jwt verify`. */
#include "cli/util.h"

#include <jansson.h>
#include <string.h>

static const char *const CMD = "jwt inspect";

static void inspect_usage(FILE *out)
{
    fprintf(out,
            "usage: hwjose jwt inspect [--in FILE] [TOKEN]\n"
            "       hwjose jwt decode  (the same)\n"
            "  Prints the header and claims of a compact JWT/JWS (for a JWE, its header only:\n"
            "  the content stays encrypted) as JSON, WITHOUT verifying anything: the signature,\n"
            "  the claims and the header are only what the token says. Use `hwjose jwt verify`\n"
            "  to check a token.\n"
            "  TOKEN            the token itself; else --in FILE, or stdin (FILE '-').\n"
            "  --in FILE        read the token from FILE ('-': stdin).\n"
            "  Exit: 0 decoded (not verified), 2 not a compact token or unreadable.\n");
}

/* {"UNVERIFIED": "...", "header": {...}, "claims"|"payload": ...}: the payload as claims when
 * it is a JSON object, else as text (or its size when it is not UTF-8). */
static json_t *describe(const char *header, const uint8_t *payload, size_t plen)
{
    json_t *o = json_object(), *h = json_loads(header, 0, NULL), *c = NULL;

    json_object_set_new(o, "UNVERIFIED",
                        json_string("decoded only: nothing here was verified (signature, "
                                    "claims, header); use `hwjose jwt verify`"));
    json_object_set_new(o, "header", h ? h : json_null());
    if (payload == NULL) {
        json_object_set_new(o, "encrypted", json_true());
    } else if ((c = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL)) !=
                   NULL &&
               json_is_object(c)) {
        json_object_set_new(o, "claims", c);
    } else {
        json_t *text = json_stringn((const char *)payload, plen);
        json_decref(c);
        json_object_set_new(o, "payload", text ? text : json_integer((json_int_t)plen));
    }
    return o;
}

int cmd_jwt_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"in", required_argument, NULL, 'i'}, {"help", no_argument, NULL, 'h'}, {0}};
    const char *in_path = NULL, *token = NULL;
    uint8_t *in = NULL, *payload = NULL;
    size_t inlen = 0, plen = 0;
    char *header = NULL, *text = NULL;
    json_t *out = NULL;
    hwj_error err;
    hwj_err rc;
    int c, ret = CLI_OK;

    optind = 0;
    while ((c = cli_getopt(CMD, argc, argv, opts)) != -1) {
        switch (c) {
        case 'i': in_path = optarg; break;
        case 'h': inspect_usage(stdout); return CLI_OK;
        default: return cli_usage_error(CMD);
        }
    }
    if (optind < argc)
        token = argv[optind++];
    if (optind < argc || (token != NULL && in_path != NULL)) {
        cli_say(CMD, "give one token: as an argument, with --in FILE, or on stdin");
        return cli_usage_error(CMD);
    }
    if (token != NULL && strcmp(token, "-") != 0) {
        in = (uint8_t *)strdup(token);
        inlen = strlen(token);
    } else if ((ret = cli_read_input(CMD, in_path, &in, &inlen)) != CLI_OK) {
        return ret;
    }
    if (in == NULL) {
        cli_say(CMD, "out of memory");
        return CLI_INVALID;
    }
    if ((rc = hwj_token_inspect((const char *)in, inlen, &header, &payload, &plen, &err)) !=
        HWJ_OK) {
        ret = cli_fail(CMD, rc, &err);
        goto out;
    }
    if ((out = describe(header, payload, plen)) == NULL ||
        (text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL) {
        cli_say(CMD, "out of memory");
        ret = CLI_INVALID;
        goto out;
    }
    cli_say(CMD, "UNVERIFIED: decoded only, nothing was checked");
    ret = cli_write(CMD, text, strlen(text), 1);
out:
    free(text);
    json_decref(out);
    hwj_free(payload);
    hwj_free(header);
    if (token != NULL && strcmp(token, "-") != 0)
        free(in);
    else
        cli_free_input(in, inlen);
    return ret;
}
