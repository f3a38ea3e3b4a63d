/* module.c: the loadable module's entry point (hwjose.so). A program that links the provider
 * in registers hwjp_init with OSSL_PROVIDER_add_builtin instead. */
#include "prov.h"

__attribute__((visibility("default"))) OSSL_provider_init_fn OSSL_provider_init;

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                       const OSSL_DISPATCH **out, void **provctx)
{
    return hwjp_init(handle, in, out, provctx);
}
