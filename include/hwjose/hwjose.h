/* hwjose.h: the whole public API. */
#ifndef HWJOSE_H
#define HWJOSE_H
#include <hwjose/alg.h>
#include <hwjose/common.h>
#include <hwjose/dpop.h>
#include <hwjose/jwe.h>
#include <hwjose/jwk.h>
#include <hwjose/jwks_cache.h>
#include <hwjose/jws.h>
#include <hwjose/jwt.h>
#include <hwjose/key.h>
#endif
