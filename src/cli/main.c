/* main.c: `hwjose <command> ...` dispatch. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const cli_command commands[] = {
    {"sign", cmd_sign, "sign a payload (JWS)"},
    {"verify", cmd_verify, "verify a JWS"},
    {"jwt", cmd_jwt, "issue or verify a JWT"},
    {"encrypt", cmd_encrypt, "encrypt a payload (JWE)"},
    {"decrypt", cmd_decrypt, "decrypt a JWE"},
    {"jwks", cmd_jwks, "print the public JWKS of keys"},
    {"thumbprint", cmd_thumbprint, "print a JWK's RFC 7638 thumbprint"},
    {"keygen", cmd_keygen, "generate a key inside a token or TPM"},
    {"keys", cmd_keys, "list the keys of a token or TPM"},
    {"serve", cmd_serve, "run the HTTP signing service"},
    {"audit", cmd_audit, "verify an audit log's hash chain"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: hwjose <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`hwjose <command> --help` describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("hwjose %s\n", hwj_version());
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "hwjose: unknown command '%s'; run `hwjose --help` for the list\n", argv[1]);
    return CLI_USAGE;
}
