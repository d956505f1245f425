import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import {
  migrate,
  MigrationChecksumError,
  MigrationError,
  migrationStatus,
  readMigrations,
} from '../../server/db/migrate.js';

async function emptyDatabase(suffix: string) {
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  const name = `${inject('templateDatabase')}_t${suffix}${Date.now() % 100000}`;
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const u = new URL(inject('pgAdminUrl'));
  u.pathname = `/${name}`;
  return u.toString();
}

describe('migration runner', () => {
  let url: string;
  beforeAll(async () => {
    url = await emptyDatabase('m');
  });

  it('applies every migration on an empty database, then nothing on a second run', async () => {
    const files = await readMigrations();
    const first = await migrate(url);
    expect(first).toEqual(files.map((f) => f.name));
    expect(await migrate(url)).toEqual([]);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query('SELECT count(*)::int AS n FROM schema_migrations');
    await c.end();
    expect(rows[0].n).toBe(files.length);
  });

  it('two runners at once: each migration is applied exactly once', async () => {
    const other = await emptyDatabase('c');
    const [a, b] = await Promise.all([migrate(other), migrate(other)]);
    const files = await readMigrations();
    expect([...a, ...b].sort()).toEqual(files.map((f) => f.name).sort());
  });

  it('refuses to run when an applied migration was edited, naming the file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mig-'));
    await writeFile(path.join(dir, '0001_first.sql'), 'CREATE TABLE first_table (id int);');
    const target = await emptyDatabase('e');
    expect(await migrate(target, { dir })).toEqual(['0001_first.sql']);
    // Edited after it ran, and a new one waiting: nothing is applied.
    await writeFile(path.join(dir, '0001_first.sql'), 'CREATE TABLE first_table (id int, extra text);');
    await writeFile(path.join(dir, '0002_second.sql'), 'CREATE TABLE second_table (id int);');
    const err = await migrate(target, { dir }).catch((e) => e);
    expect(err).toBeInstanceOf(MigrationChecksumError);
    expect(err.message).toContain('0001_first.sql');
    expect(err.message).toContain('new migration');
    expect(await migrationStatus(target, dir)).toEqual({
      edited: ['0001_first.sql'],
      pending: ['0002_second.sql'],
      unknown: [],
    });
    const c = new pg.Client({ connectionString: target });
    await c.connect();
    const second = await c.query(`SELECT to_regclass('second_table') AS t`);
    await c.end();
    expect(second.rows[0].t).toBeNull();
  });

  it('a failing migration names the file and leaves nothing half-applied', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mig-'));
    await writeFile(path.join(dir, '0001_ok.sql'), 'CREATE TABLE ok_table (id int);');
    await writeFile(path.join(dir, '0002_bad.sql'), 'CREATE TABLE half_table (id int);\nSELECT * FROM no_such_table;');
    const target = await emptyDatabase('f');
    const err = await migrate(target, { dir }).catch((e) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect(err.message).toContain('0002_bad.sql');
    expect(err.message).toContain('no_such_table');
    const c = new pg.Client({ connectionString: target });
    await c.connect();
    const tables = await c.query(`SELECT tablename FROM pg_tables WHERE tablename IN ('ok_table', 'half_table')`);
    const applied = await c.query('SELECT name FROM schema_migrations');
    await c.end();
    expect(tables.rows.map((r) => r.tablename)).toEqual(['ok_table']);
    expect(applied.rows.map((r) => r.name)).toEqual(['0001_ok.sql']);
  });

  afterAll(async () => {
    // Databases are dropped by the global teardown (they share the template's prefix).
  });
});
