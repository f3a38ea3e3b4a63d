// interop.mjs: panva/jose checks the service's output against its JWKS URL.
//   node interop.mjs verify-jwt JWKS_URL JWT ISS AUD [ALG]  (ALG: ES256 unless given)
//   node interop.mjs verify-jws JWKS_URL JWS
//   node interop.mjs encrypt    JWKS_URL KID ALG PLAINTEXT   (prints a compact JWE)
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'interop', 'package.json'));
const jose = await import(require.resolve('jose'));

const [mode, url, ...rest] = process.argv.slice(2);
try {
  if (mode === 'verify-jwt') {
    const [jwt, iss, aud, alg = 'ES256'] = rest;
    const jwks = jose.createRemoteJWKSet(new URL(url));
    const { payload, protectedHeader } = await jose.jwtVerify(jwt, jwks, {
      issuer: iss, audience: aud, algorithms: [alg] });
    console.log(JSON.stringify({ header: protectedHeader, payload }));
  } else if (mode === 'verify-jws') {
    const jwks = jose.createRemoteJWKSet(new URL(url));
    const { payload } = await jose.compactVerify(rest[0], jwks, { algorithms: ['ES256'] });
    console.log(new TextDecoder().decode(payload));
  } else if (mode === 'encrypt') {
    const [kid, alg, text] = rest;
    const set = await (await fetch(url)).json();
    const jwk = set.keys.find((k) => k.kid === kid);
    if (!jwk) throw new Error(`kid ${kid} not in the JWKS`);
    const key = await jose.importJWK(jwk, alg);
    const jwe = await new jose.CompactEncrypt(new TextEncoder().encode(text))
      .setProtectedHeader({ alg, enc: 'A256GCM', kid }).encrypt(key);
    console.log(jwe);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (e) {
  console.error(`interop: ${e.code || ''} ${e.message}`);
  process.exit(1);
}
