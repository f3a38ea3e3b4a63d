/* verify.c: STUB, being implemented. */
#include "cli/cli.h"

int cmd_verify(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "hwjose verify: not implemented yet\n");
    return CLI_USAGE;
}
