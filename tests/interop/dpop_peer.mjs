// dpop_peer.mjs: panva's `dpop` and `oauth4webapi` as the interop peers of hwjose's DPoP
// (RFC 9449) proofs (tests/cli/test_dpop.sh). Keys are JWK files (private, with "alg").
//   node dpop_peer.mjs keygen ALG PRIV.json              a key pair (private JWK with alg)
//   node dpop_peer.mjs proof-dpop PRIV.json HTM HTU [AT]  → a proof from `dpop` generateProof
//   node dpop_peer.mjs proof-o4w PRIV.json HTM HTU [AT]   → the proof oauth4webapi sends with a
//                                                          protected resource request
//   node dpop_peer.mjs hostile KIND PRIV.json HTM HTU     → a bad proof made with `jose`: KIND is
//        stale, future, private-jwk, none, hs256, typ-jwt, no-jwk, other-key
//   node dpop_peer.mjs token AS-PRIV.json ISS AUD JKT     → an RFC 9068 at+jwt bound to JKT
//   node dpop_peer.mjs rs-verify AS-PUB.jwks ISS AUD HTM HTU TOKEN PROOF
//        oauth4webapi validateJwtAccessToken: the resource server's check of a DPoP-bound
//        at+jwt and its proof; prints the claims
// Exit 0 on success, 1 when the peer refuses (the reason on stderr), 2 on usage errors.
import * as dpop from 'dpop';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import { readFileSync, writeFileSync } from 'node:fs';

const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
const [cmd, ...a] = process.argv.slice(2);
const b64u = (s) => Buffer.from(s).toString('base64url');

async function keyPair(path) {
  const jwk = readJson(path);
  const { d, p, q, dp, dq, qi, ...pub } = jwk;
  return {
    alg: jwk.alg,
    jwk,
    pub,
    privateKey: await jose.importJWK(jwk, jwk.alg),
    publicKey: await jose.importJWK({ ...pub, ext: true }, jwk.alg, { extractable: true }),
  };
}

const claims = (htm, htu, iat) => ({ jti: crypto.randomUUID(), htm, htu, iat });
const now = () => Math.floor(Date.now() / 1000);

async function hostile(kind, kp, htm, htu) {
  const sign = (header, payload, key = kp.privateKey, alg = kp.alg) =>
    new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg, ...header }).sign(key);
  const base = { typ: 'dpop+jwt', jwk: kp.pub };
  switch (kind) {
    case 'stale': return sign(base, claims(htm, htu, now() - 3600));
    case 'future': return sign(base, claims(htm, htu, now() + 3600));
    case 'private-jwk': return sign({ ...base, jwk: kp.jwk }, claims(htm, htu, now()));
    case 'typ-jwt': return sign({ ...base, typ: 'JWT' }, claims(htm, htu, now()));
    case 'no-jwk': return sign({ typ: 'dpop+jwt' }, claims(htm, htu, now()));
    case 'none':
      return `${b64u(JSON.stringify({ alg: 'none', ...base }))}.${b64u(JSON.stringify(claims(htm, htu, now())))}.`;
    case 'hs256': {
      const k = crypto.getRandomValues(new Uint8Array(32));
      return sign({ typ: 'dpop+jwt', jwk: { kty: 'oct', k: Buffer.from(k).toString('base64url') } },
        claims(htm, htu, now()), k, 'HS256');
    }
    case 'other-key': {
      const other = await jose.generateKeyPair('ES256', { extractable: true });
      return sign({ typ: 'dpop+jwt', jwk: await jose.exportJWK(other.publicKey) },
        claims(htm, htu, now()), kp.privateKey, kp.alg);
    }
    default: throw new Error(`unknown hostile kind ${kind}`);
  }
}

try {
  if (cmd === 'keygen') {
    const [alg, privPath] = a;
    const opts = { extractable: true };
    if (alg === 'EdDSA') opts.crv = 'Ed25519';
    const kp = await jose.generateKeyPair(alg, opts);
    writeFileSync(privPath, JSON.stringify({ ...(await jose.exportJWK(kp.privateKey)), alg }));
  } else if (cmd === 'proof-dpop') {
    const [path, htm, htu, at] = a;
    const kp = await keyPair(path);
    process.stdout.write(await dpop.generateProof(kp, htu, htm, undefined, at) + '\n');
  } else if (cmd === 'proof-o4w') {
    const [path, htm, htu, at] = a;
    const kp = await keyPair(path);
    let proof;
    const handle = oauth.DPoP({}, { privateKey: kp.privateKey, publicKey: kp.publicKey });
    await oauth.protectedResourceRequest(at ?? 'token', htm, new URL(htu), new Headers(), null, {
      DPoP: handle,
      [oauth.allowInsecureRequests]: true,
      [oauth.customFetch]: async (_url, init) => {
        proof = new Headers(init.headers).get('dpop');
        return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
      },
    });
    process.stdout.write(proof + '\n');
  } else if (cmd === 'hostile') {
    const [kind, path, htm, htu] = a;
    process.stdout.write(await hostile(kind, await keyPair(path), htm, htu) + '\n');
  } else if (cmd === 'token') {
    const [path, iss, aud, jkt] = a;
    const kp = await keyPair(path);
    const jwt = await new jose.SignJWT({ client_id: 'interop-client', cnf: { jkt } })
      .setProtectedHeader({ alg: kp.alg, typ: 'at+jwt', kid: kp.jwk.kid })
      .setIssuer(iss).setAudience(aud).setSubject('alice')
      .setIssuedAt().setExpirationTime('5m').setJti(crypto.randomUUID())
      .sign(kp.privateKey);
    process.stdout.write(jwt + '\n');
  } else if (cmd === 'rs-verify') {
    const [jwksPath, iss, aud, htm, htu, token, proof] = a;
    const jwks = readFileSync(jwksPath, 'utf8');
    const as = { issuer: iss, jwks_uri: 'https://as.invalid/jwks' };
    const request = new Request(htu, {
      method: htm,
      headers: { authorization: `DPoP ${token}`, dpop: proof },
    });
    const c = await oauth.validateJwtAccessToken(as, request, aud, {
      requireDPoP: true,
      [oauth.customFetch]: async () =>
        new Response(jwks, { status: 200, headers: { 'content-type': 'application/json' } }),
    });
    process.stdout.write(JSON.stringify(c) + '\n');
  } else {
    process.stderr.write(`dpop_peer.mjs: unknown command ${cmd}\n`);
    process.exit(2);
  }
} catch (e) {
  process.stderr.write(`dpop_peer.mjs ${cmd}: ${e.code ?? ''} ${e.message}\n`);
  process.exit(1);
}
