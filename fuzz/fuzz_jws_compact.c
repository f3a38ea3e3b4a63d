/* fuzz_jws_compact: JWS compact serialization, parse + verify (RFC 7515 §7.1). */
#include "jws_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == '{')
        return 0; /* the JSON serializations have their own target */
    fz_jws_verify(data, size);
    return 0;
}
