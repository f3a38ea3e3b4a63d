/* serve.c: STUB, being implemented. */
#include "cli/cli.h"

int cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "hwjose serve: not implemented yet\n");
    return CLI_USAGE;
}

int cmd_audit(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "hwjose audit: not implemented yet\n");
    return CLI_USAGE;
}
