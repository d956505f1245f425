// npm run user:create -- --email a@b.c --role admin --name "Full Name" [--doctor-id uuid] [--password-stdin]
// Creates a user (the first admin of a production install, say). The password is read from a
// hidden prompt, or from the first line of stdin with --password-stdin; never from argv,
// which other users of the machine can read.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createPool } from '../db/pool.js';
import { HttpError } from '../http/errors.js';
import { createUser } from '../users/service.js';
import { createUserSchema } from '../../src/lib/shared/auth-schemas.js';
import { openForCli, runCli } from './open-for-cli.js';

async function readFirstLine(): Promise<string> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return '';
}

/** Prompts on the terminal without echoing what is typed (readline writes to a muted stream). */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!process.stdin.isTTY)
      return reject(new Error('No terminal to prompt on: pipe the password in with --password-stdin.'));
    process.stderr.write(question);
    const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
    const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) return readFirstLine();
  const first = await promptHidden('Password: ');
  const again = await promptHidden('Password again: ');
  if (first !== again) throw new Error('The passwords differ.');
  return first;
}

await runCli(async () => {
  const { values } = parseArgs({
    options: {
      email: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      'doctor-id': { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
    },
  });
  const password = await readPassword(values['password-stdin']);
  const parsed = createUserSchema.safeParse({
    email: values.email,
    role: values.role,
    full_name: values.name,
    doctor_id: values['doctor-id'],
    password,
  });
  if (!parsed.success) {
    const flag = (path: string) =>
      ({ full_name: '--name', doctor_id: '--doctor-id', password: 'password' })[path] ?? `--${path}`;
    throw new Error(parsed.error.issues.map((i) => `${flag(i.path.join('.'))}: ${i.message}`).join('\n'));
  }
  const { db } = await openForCli();
  const pool = createPool(db.url, { max: 2 });
  try {
    const user = await createUser(pool, parsed.data, { actorId: null, userAgent: 'npm run user:create' });
    console.log(`Created ${user.role} ${user.email} (${user.id}).`);
  } catch (err) {
    // Field errors (email taken, unknown doctor) read like the API's.
    if (err instanceof HttpError && err.details) {
      const issues = err.details.issues as Array<{ path: string; message: string }>;
      throw new Error(issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
    }
    throw err;
  } finally {
    await pool.end();
    await db.close();
  }
});
