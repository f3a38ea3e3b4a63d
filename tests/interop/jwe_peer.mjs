// jwe_peer.mjs: panva/jose as the interop peer of hwjose's JWE and nested JWT tests.
//   node jwe_peer.mjs encrypt PUB.json ALG ENC          stdin → compact JWE
//   node jwe_peer.mjs decrypt PRIV.json                  stdin → plaintext
//   node jwe_peer.mjs nested-issue SIGN.json SIGNALG RCPT.json ALG ENC ISS AUD
//   node jwe_peer.mjs nested-verify RCPT.json SIGNPUB.json ISS AUD   stdin → claims JSON
import * as jose from 'jose';
import { readFileSync } from 'node:fs';

const readJwk = (p) => JSON.parse(readFileSync(p, 'utf8'));
const stdin = () => readFileSync(0);
const [cmd, ...a] = process.argv.slice(2);

async function key(path, alg) {
  const jwk = readJwk(path);
  return jose.importJWK(jwk, alg ?? jwk.alg);
}

try {
  if (cmd === 'encrypt') {
    const [pub, alg, enc] = a;
    const jwe = await new jose.CompactEncrypt(stdin())
      .setProtectedHeader({ alg, enc })
      .encrypt(await key(pub, alg));
    process.stdout.write(jwe + '\n');
  } else if (cmd === 'decrypt') {
    const token = stdin().toString('utf8').trim();
    const { alg } = jose.decodeProtectedHeader(token);
    const { plaintext } = await jose.compactDecrypt(token, await key(a[0], alg));
    process.stdout.write(Buffer.from(plaintext));
  } else if (cmd === 'nested-issue') {
    const [sign, signAlg, rcpt, alg, enc, iss, aud] = a;
    const jws = await new jose.SignJWT({ 'https://example.com/role': 'peer' })
      .setProtectedHeader({ alg: signAlg, typ: 'JWT', kid: readJwk(sign).kid })
      .setIssuer(iss).setAudience(aud).setIssuedAt().setExpirationTime('5m')
      .sign(await key(sign, signAlg));
    const jwe = await new jose.CompactEncrypt(new TextEncoder().encode(jws))
      .setProtectedHeader({ alg, enc, cty: 'JWT' })
      .encrypt(await key(rcpt, alg));
    process.stdout.write(jwe + '\n');
  } else if (cmd === 'nested-verify') {
    const [rcpt, signPub, iss, aud] = a;
    const token = stdin().toString('utf8').trim();
    const hdr = jose.decodeProtectedHeader(token);
    if (hdr.cty !== 'JWT') throw new Error('cty is not JWT');
    const { plaintext } = await jose.compactDecrypt(token, await key(rcpt, hdr.alg));
    const inner = new TextDecoder().decode(plaintext);
    const ih = jose.decodeProtectedHeader(inner);
    const { payload } = await jose.jwtVerify(inner, await key(signPub, ih.alg), { issuer: iss, audience: aud });
    process.stdout.write(JSON.stringify(payload) + '\n');
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
} catch (e) {
  process.stderr.write(`jwe_peer.mjs: ${e.message}\n`);
  process.exit(1);
}
