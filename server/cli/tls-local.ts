// npm run tls:local [-- --dir ./.data/tls] [--name clinic-pc.local ...]: a local CA (kept and
// reused on later runs) and a fresh server certificate for this machine's names and LAN
// addresses; prints the settings to start with and how to trust the CA on tablets.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createCa, createServerCert, defaultServerNames } from '../tls/local-ca.js';

const { values } = parseArgs({
  options: { dir: { type: 'string', default: './.data/tls' }, name: { type: 'string', multiple: true } },
});
const dir = path.resolve(values.dir);
await mkdir(dir, { recursive: true, mode: 0o700 });
const caCertFile = path.join(dir, 'clinic-local-ca.crt');
const caKeyFile = path.join(dir, 'clinic-local-ca.key');
let ca;
if (existsSync(caCertFile) && existsSync(caKeyFile)) {
  ca = { cert: await readFile(caCertFile, 'utf8'), key: await readFile(caKeyFile, 'utf8') };
  console.log(`Using the existing local CA in ${dir} (tablets that trust it keep working).`);
} else {
  ca = createCa();
  await writeFile(caCertFile, ca.cert);
  await writeFile(caKeyFile, ca.key, { mode: 0o600 });
  console.log(`Created a local CA: ${caCertFile}`);
}
const names = [...new Set([...(values.name ?? []), ...defaultServerNames()])];
const server = createServerCert(ca, names);
await writeFile(path.join(dir, 'server.crt'), server.cert);
await writeFile(path.join(dir, 'server.key'), server.key, { mode: 0o600 });
await chmod(caKeyFile, 0o600);
const lanName = names.find((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n) && n !== '127.0.0.1') ?? names[0];
console.log(`Server certificate for: ${names.join(', ')}

Start the server with:
  HOST=0.0.0.0 TLS_CERT=${path.join(dir, 'server.crt')} TLS_KEY=${path.join(dir, 'server.key')} \\
  PUBLIC_ORIGIN=https://${lanName}:3000 npm start

Then trust the CA (${caCertFile}) once on each tablet, and open https://${lanName}:3000:
  iPad / iPhone: send the .crt to the tablet (AirDrop or mail) and open it, then
    Settings → General → VPN & Device Management → install the profile, and
    Settings → General → About → Certificate Trust Settings → turn on full trust for it.
  Android: Settings → Security → Encryption & credentials → Install a certificate → CA certificate.
Keep ${caKeyFile} private: whoever has it can impersonate any site to these tablets.`);
