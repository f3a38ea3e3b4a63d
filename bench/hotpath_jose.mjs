// hotpath_jose.mjs: panva/jose's JWT sign and verify rate, the same work as bench_hotpath
// (same claims, iss/aud checks, one key), per CPU-second. Run by bench/run-hotpath.sh:
//   node bench/hotpath_jose.mjs JOSE_ENTRY SECONDS ALG...   → "ALG sign N" / "ALG verify N"
const [entry, secs, ...algs] = process.argv.slice(2);
const jose = await import(entry);

// Per second of the process's CPU time (user + system), as the other two columns count.
async function rate(seconds, fn) {
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const c0 = process.cpuUsage();
  while (performance.now() < end) {
    for (let i = 0; i < 16; i++) await fn();
    n += 16;
  }
  const c = process.cpuUsage(c0);
  return n / ((c.user + c.system) / 1e6);
}

for (const alg of algs) {
  const opts = alg === 'EdDSA' ? { crv: 'Ed25519' } : alg.match(/^(RS|PS)/) ? { modulusLength: 2048 } : {};
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, opts);
  const sign = () =>
    new jose.SignJWT({ scope: 'read write', role: 'reader' })
      .setProtectedHeader({ alg, typ: 'JWT', kid: 'k1' })
      .setIssuer('https://issuer.example')
      .setSubject('user-1')
      .setAudience('bench')
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('1h')
      .setJti(crypto.randomUUID())
      .sign(privateKey);
  const token = await sign();
  const verify = () =>
    jose.jwtVerify(token, publicKey, { issuer: 'https://issuer.example', audience: 'bench', algorithms: [alg] });
  for (let i = 0; i < 200; i++) await verify(); // warm-up (JIT)
  console.log(`${alg} sign ${Math.round(await rate(+secs, sign))}`);
  console.log(`${alg} verify ${Math.round(await rate(+secs, verify))}`);
}
