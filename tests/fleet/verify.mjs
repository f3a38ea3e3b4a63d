// verify.mjs: panva/jose verifies JWTs, each against the JWKS a replica served in its lifetime.
// stdin: [{"jwt", "jwks", "iat", "iss", "aud"}, ...]; prints "verified N" or the first failure.
// The clock is set to each token's iat: the check runs after the tokens (seconds long) expired.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'interop', 'package.json'));
const jose = await import(require.resolve('jose'));

let input = '';
for await (const chunk of process.stdin) input += chunk;
const jobs = JSON.parse(input);
let n = 0;
for (const j of jobs) {
  try {
    const { protectedHeader } = await jose.jwtVerify(j.jwt, jose.createLocalJWKSet(j.jwks), {
      issuer: j.iss, audience: j.aud, algorithms: ['ES256'], currentDate: new Date(j.iat * 1000) });
    if (!j.jwks.keys.some((k) => k.kid === protectedHeader.kid)) throw new Error('kid not in the set');
    n++;
  } catch (e) {
    console.log(`failed: ${e.code ?? ''} ${e.message} (${j.jwt.slice(0, 40)}…)`);
    process.exit(1);
  }
}
console.log(`verified ${n}`);
