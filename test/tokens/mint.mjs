// test/tokens/mint.mjs — request tokens with the jose library, an
// implementation independent of govshare's (used by test/t/003_tokens.pl;
// docs/tokens.md shows the same for an agency's gateway).
//
//   node mint.mjs sign <private.pem> '<claims json>' [kid]   prints a token
//   node mint.mjs verify <public.pem> <token>                 prints the claims
//   node mint.mjs thumbprint <public.pem>                     prints the RFC 7638 key id
import { readFileSync } from 'node:fs';
import { SignJWT, jwtVerify, importPKCS8, importSPKI, exportJWK, calculateJwkThumbprint } from 'jose';

const [cmd, file, arg, kid] = process.argv.slice(2);
const pem = readFileSync(file, 'utf8');
if (cmd === 'sign') {
  const key = await importPKCS8(pem, 'EdDSA');
  const header = { alg: 'EdDSA', typ: 'JWT' };
  if (kid) header.kid = kid;
  console.log(await new SignJWT(JSON.parse(arg)).setProtectedHeader(header).sign(key));
} else if (cmd === 'verify') {
  const key = await importSPKI(pem, 'EdDSA');
  const { payload } = await jwtVerify(arg, key, { algorithms: ['EdDSA'] });
  console.log(JSON.stringify(payload));
} else if (cmd === 'thumbprint') {
  const key = await importSPKI(pem, 'EdDSA', { extractable: true });
  console.log(await calculateJwkThumbprint(await exportJWK(key)));
} else {
  console.error('usage: mint.mjs sign|verify|thumbprint ...');
  process.exit(2);
}
