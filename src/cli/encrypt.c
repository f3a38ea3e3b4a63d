/* encrypt.c: STUB, being implemented. */
#include "cli/cli.h"

int cmd_encrypt(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "hwjose encrypt: not implemented yet\n");
    return CLI_USAGE;
}

int cmd_decrypt(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "hwjose decrypt: not implemented yet\n");
    return CLI_USAGE;
}
