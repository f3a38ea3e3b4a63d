// jwt_peer.mjs: panva/jose as the interop peer of hwjose's JWT and JWS (tests/cli/test_interop_jose.sh).
//   node jwt_peer.mjs keygen ALG KID PRIV.json PUB.jwks       a key pair (private JWK, public JWKS)
//   node jwt_peer.mjs sign PRIV.json ISS AUD SUB               → a JWT (SignJWT), exp 10m, jti
//   node jwt_peer.mjs verify JWKS ALG ISS AUD                  stdin JWT → claims JSON (jwtVerify)
//   node jwt_peer.mjs jws-sign PRIV.json                       stdin → compact JWS (CompactSign)
//   node jwt_peer.mjs jws-verify JWKS ALG                      stdin JWS → payload (compactVerify)
// Exit 0 on success, 1 when jose refuses (the reason on stderr), 2 on usage errors.
import * as jose from 'jose';
import { readFileSync, writeFileSync } from 'node:fs';

const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
const stdinText = () => readFileSync(0, 'utf8').trim();
const [cmd, ...a] = process.argv.slice(2);

async function privateKey(path) {
  const jwk = readJson(path);
  return { key: await jose.importJWK(jwk, jwk.alg), alg: jwk.alg, kid: jwk.kid };
}

try {
  if (cmd === 'keygen') {
    const [alg, kid, privPath, pubPath] = a;
    const opts = { extractable: true };
    if (alg.startsWith('RS') || alg.startsWith('PS')) opts.modulusLength = 2048;
    if (alg === 'EdDSA') opts.crv = 'Ed25519';
    const { publicKey, privateKey: priv } = await jose.generateKeyPair(alg, opts);
    const pub = { ...(await jose.exportJWK(publicKey)), alg, kid, use: 'sig' };
    writeFileSync(privPath, JSON.stringify({ ...(await jose.exportJWK(priv)), alg, kid }));
    writeFileSync(pubPath, JSON.stringify({ keys: [pub] }));
  } else if (cmd === 'sign') {
    const [privPath, iss, aud, sub] = a;
    const { key, alg, kid } = await privateKey(privPath);
    const jwt = await new jose.SignJWT({ scope: 'interop', n: 1 })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(iss).setAudience(aud).setSubject(sub)
      .setIssuedAt().setNotBefore('0s').setExpirationTime('10m').setJti(crypto.randomUUID())
      .sign(key);
    process.stdout.write(jwt + '\n');
  } else if (cmd === 'verify') {
    const [jwksPath, alg, issuer, audience] = a;
    const jwks = jose.createLocalJWKSet(readJson(jwksPath));
    const { payload } = await jose.jwtVerify(stdinText(), jwks, {
      algorithms: [alg], issuer, audience, typ: 'JWT', requiredClaims: ['exp', 'iat'],
    });
    process.stdout.write(JSON.stringify(payload) + '\n');
  } else if (cmd === 'jws-sign') {
    const { key, alg, kid } = await privateKey(a[0]);
    const jws = await new jose.CompactSign(readFileSync(0))
      .setProtectedHeader({ alg, kid }).sign(key);
    process.stdout.write(jws + '\n');
  } else if (cmd === 'jws-verify') {
    const [jwksPath, alg] = a;
    const jwks = jose.createLocalJWKSet(readJson(jwksPath));
    const { payload } = await jose.compactVerify(stdinText(), jwks, { algorithms: [alg] });
    process.stdout.write(Buffer.from(payload));
  } else {
    process.stderr.write(`jwt_peer.mjs: unknown command '${cmd}'\n`);
    process.exit(2);
  }
} catch (e) {
  process.stderr.write(`jose: ${e.code ?? e.name}: ${e.message}\n`);
  process.exit(1);
}
