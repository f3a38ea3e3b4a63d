/* main.c: `hwjose <command> ...` dispatch. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_command commands[] = {
    {"sign", cmd_sign, "sign a payload (JWS)"},
    {"verify", cmd_verify, "verify a JWS"},
    {"jwt", cmd_jwt, "issue or verify a JWT"},
    {"dpop", cmd_dpop, "make or verify a DPoP proof (RFC 9449)"},
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
    /* tpm2-tss logs its own warnings to stderr (a refused connection, a TPM error code) and
     * only an environment variable silences it. hwjose's own message carries the same facts,
     * so the CLI and the service default it off; TSS2_LOG=all+WARNING brings it back. Set
     * here, before any thread or tpm2-tss call, because setenv is not thread-safe. */
    setenv("TSS2_LOG", "all+NONE", 0);
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
