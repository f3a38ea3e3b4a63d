/* fuzz_jws_json: JWS general and flattened JSON serializations, parse + verify
 * (RFC 7515 §7.2). */
#include "jws_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || data[0] != '{')
        return 0; /* the compact serialization has its own target */
    fz_jws_verify(data, size);
    return 0;
}
