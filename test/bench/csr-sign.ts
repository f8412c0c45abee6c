// CSR signings per second on one core: the CA path of Certificates.Sign minus etcd and gRPC
// (parse + verify the CSR, build the certificate, RSA-2048 signature). CSRs are generated before
// timing. Prints one JSON line. Usage: node dist/test/bench/csr-sign.js [count] [maxSeconds]
import { createCsr, createIssuer, createTrustAnchor, generateKeyPair, signCsr } from "../../shared/pki/index.js";

const TARGET_PER_SEC = 200;
const count = Math.max(1, Number(process.argv[2] ?? 2000));
const maxSeconds = Math.max(1, Number(process.argv[3] ?? 20));
const spiffeId = "spiffe://cluster.local/ns/default/sa/bench";

const anchor = createTrustAnchor({ commonName: "bench root", validityMs: 3600_000 });
const issuer = createIssuer(anchor, { commonName: "bench issuer", validityMs: 3600_000 });
// A handful of keys is enough: signing cost does not depend on the subject key.
const keys = Array.from({ length: 16 }, () => generateKeyPair().privateKeyPem);
const csrs = Array.from({ length: count }, (_, i) => createCsr(keys[i % keys.length]!, spiffeId));

// Warm-up (JIT, issuer cache) outside the timed loop.
for (let i = 0; i < Math.min(50, count); i++) signCsr(issuer, csrs[i]!, { spiffeId, validityMs: 86_400_000 });

const deadline = performance.now() + maxSeconds * 1000;
const start = performance.now();
let done = 0;
for (const csr of csrs) {
  signCsr(issuer, csr, { spiffeId, validityMs: 86_400_000 });
  done++;
  if (performance.now() > deadline) break;
}
const seconds = (performance.now() - start) / 1000;
const perSec = done / seconds;
console.log(
  JSON.stringify({
    bench: "csr-sign",
    signed: done,
    seconds: Number(seconds.toFixed(3)),
    perSecond: Math.round(perSec),
    meanMs: Number(((seconds * 1000) / done).toFixed(3)),
    target: TARGET_PER_SEC,
    pass: perSec >= TARGET_PER_SEC,
    keyBits: 2048,
    node: process.version,
  }),
);
if (perSec < TARGET_PER_SEC) process.exitCode = 1;
