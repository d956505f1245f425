// Starts one PostgreSQL for the whole run (embedded, unless DATABASE_URL points at a server),
// and builds a template database with every migration applied. Each test file then clones
// it (CREATE DATABASE ... TEMPLATE ...), which takes milliseconds.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { buildClient, isClientBuildCurrent } from '../../server/build-client.js';
import { startEmbeddedPostgres } from '../../server/db/embedded.js';
import { migrate } from '../../server/db/migrate.js';
import { ensureJobSchema } from '../../server/jobs/schema.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    templateDatabase: string;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export default async function setup(project: TestProject) {
  // Tests that spawn `npm start`-style servers would each build a missing client, at the same
  // time, into the same build/ folder, and so would two e2e files. Build it once here, before
  // any test runs (a later project finds it current).
  if (!isClientBuildCurrent()) await buildClient();
  let adminUrl: string;
  let stop = async () => {};
  if (process.env.DATABASE_URL) {
    const u = new URL(process.env.DATABASE_URL);
    u.pathname = '/postgres';
    adminUrl = u.toString();
  } else {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'clinic-test-pg-'));
    // mkdtemp makes it 0700; as root, PostgreSQL runs as the `postgres` user and must get in.
    await chmod(dataDir, 0o755);
    const db = await startEmbeddedPostgres({
      dataDir,
      port: await freePort(),
      // Tests don't need crash safety: skip fsync for speed.
      extraFlags: [
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=300',
      ],
    });
    adminUrl = db.adminUrl;
    stop = async () => {
      await db.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  }
  const template = `clinic_template_${process.pid}_${project.name}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${template}`);
  await admin.query(`CREATE DATABASE ${template}`);
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${template}`;
  await migrate(templateUrl.toString());
  await ensureJobSchema(templateUrl.toString());
  project.provide('pgAdminUrl', adminUrl);
  project.provide('templateDatabase', template);

  return async () => {
    // Drop what this run created (matters when DATABASE_URL is a shared server).
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`,
      [template, `${template}_t%`],
    );
    for (const { datname } of rows)
      await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => {});
    await admin.end();
    await stop();
  };
}
