/* jwks.c: STUB, being implemented. */
#include "cli/cli.h"

int cmd_jwks(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "hwjose jwks: not implemented yet\n");
    return CLI_USAGE;
}

int cmd_thumbprint(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "hwjose thumbprint: not implemented yet\n");
    return CLI_USAGE;
}
