// The hash-chained audit log: rows for writes, the admin routes, concurrency without forks,
// and tampering (as a superuser, the only one who can) detected by verify and the CLI.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditChainer, chainAll } from '../../server/audit/chainer.js';
import { appendAudit } from '../../server/audit/log.js';
import { verifyAuditChain } from '../../server/audit/verify.js';
import { withTransaction } from '../../server/db/transaction.js';
import { sqlState } from '../../server/db/sqlstate.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

let db: TestDatabase;
let fx: Fixture;
let server: TestServer;
let admin: ApiClient;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  server = await startTestServer(db);
  admin = new ApiClient(server.url);
  await admin.login(fx.users.admin.email, TEST_PASSWORD);
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

/** Runs SQL with the append-only trigger off: what only a superuser can do. */
async function asSuperuser(sql: string, params: unknown[] = []) {
  await withTransaction(db.pool, async (tx) => {
    await tx.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await tx.query(sql, params);
    await tx.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
  });
}

/** Links what has committed (as the server's chainer does every 200 ms), then checks the links. */
async function expectLinkedChain() {
  await chainAll(db.pool);
  const { rows } = await db.pool.query<{ id: number; chain_seq: number; prev_hash: string | null; hash: string }>(
    'SELECT id, chain_seq::int, prev_hash, hash FROM audit_log ORDER BY chain_seq',
  );
  rows.forEach((row, i) => {
    expect(row.chain_seq).toBe(i + 1);
    expect(row.prev_hash).toBe(i === 0 ? null : rows[i - 1]!.hash);
  });
  return rows.length;
}

const intact = (checked: number) => ({
  ok: true,
  checked,
  first_bad_id: null,
  unchained: 0,
  oldest_unchained_ms: null,
});

describe('the chain', () => {
  it('verifies after audited writes, through the API and the function', async () => {
    await admin.patch(`/api/users/${fx.users.receptionist.id}`, { full_name: 'Front Desk' });
    const linked = await expectLinkedChain();
    const res = await admin.get('/api/admin/audit/verify');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(intact(linked));
    expect(res.body.checked).toBeGreaterThan(0);
  });

  it('50 concurrent audited writes leave one unforked chain', async () => {
    const before = await expectLinkedChain();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2
          ? admin.patch(`/api/users/${fx.users.clinicianB.id}`, { full_name: `Name ${i}` })
          : withTransaction(db.pool, (tx) =>
              appendAudit(tx, {
                actorId: fx.users.admin.id,
                action: 'test',
                entity: 'concurrency',
                entityId: String(i),
              }),
            ),
      ),
    );
    expect(await expectLinkedChain()).toBe(before + 50);
    expect(await verifyAuditChain(db.pool)).toEqual(intact(before + 50));
  });

  it('writers do not wait for each other: two open transactions append at once', async () => {
    const a = await db.pool.connect();
    const b = await db.pool.connect();
    try {
      for (const c of [a, b]) await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await appendAudit(a, { actorId: null, action: 'test', entity: 'isolation' });
      // With a lock on a shared head, this append would block until `a` ends: the test would hang.
      await appendAudit(b, { actorId: null, action: 'test', entity: 'isolation' });
      await b.query('COMMIT');
      await a.query('COMMIT');
    } finally {
      a.release();
      b.release();
    }
    expect((await verifyAuditChain(db.pool)).unchained).toBeGreaterThanOrEqual(2);
    await expectLinkedChain();
    expect((await verifyAuditChain(db.pool)).ok).toBe(true);
  });

  it('an uncommitted row is not chained until it commits; then it is linked after the rows that committed before it', async () => {
    const late = await db.pool.connect();
    try {
      await late.query('BEGIN');
      await appendAudit(late, { actorId: null, action: 'test', entity: 'late' }); // the smaller id
      await withTransaction(db.pool, (tx) => appendAudit(tx, { actorId: null, action: 'test', entity: 'early' }));
      await chainAll(db.pool);
      const window = await verifyAuditChain(db.pool);
      expect(window).toMatchObject({ ok: true, unchained: 0 }); // the open one is invisible, not lost
      await late.query('COMMIT');
    } finally {
      late.release();
    }
    const report = await verifyAuditChain(db.pool);
    expect(report.unchained).toBe(1);
    expect(report.oldest_unchained_ms).toBeGreaterThanOrEqual(0);
    await expectLinkedChain();
    const { rows } = await db.pool.query<{ entity: string }>(
      `SELECT entity FROM audit_log WHERE entity IN ('late', 'early') ORDER BY chain_seq`,
    );
    expect(rows.map((r) => r.entity)).toEqual(['early', 'late']);
    const { rows: byId } = await db.pool.query<{ entity: string }>(
      `SELECT entity FROM audit_log WHERE entity IN ('late', 'early') ORDER BY id`,
    );
    expect(byId.map((r) => r.entity)).toEqual(['late', 'early']);
    expect((await verifyAuditChain(db.pool)).ok).toBe(true);
  });

  it("the server's chainer links new rows by itself, and links what is left when it stops", async () => {
    const chainer = new AuditChainer({ pool: db.pool, intervalMs: 50 });
    chainer.start();
    try {
      await admin.patch(`/api/users/${fx.users.receptionist.id}`, { full_name: 'Front Desk Two' });
      await expect
        .poll(async () => (await admin.get('/api/admin/audit/verify')).body, { timeout: 10_000 })
        .toMatchObject({ ok: true, unchained: 0 });
    } finally {
      await chainer.stop();
    }
    await admin.patch(`/api/users/${fx.users.receptionist.id}`, { full_name: 'Front Desk Three' });
    expect((await verifyAuditChain(db.pool)).unchained).toBe(1);
    await new AuditChainer({ pool: db.pool }).stop();
    expect(await verifyAuditChain(db.pool)).toMatchObject({ ok: true, unchained: 0 });
  });

  it('a chained row cannot be chained again, and an unchained row cannot be edited while being linked', async () => {
    await withTransaction(db.pool, (tx) => appendAudit(tx, { actorId: null, action: 'test', entity: 'relink' }));
    const { rows } = await db.pool.query<{ id: number }>(`SELECT id FROM audit_log WHERE entity = 'relink'`);
    const id = rows[0]!.id;
    const forge = await db.pool
      .query(`UPDATE audit_log SET action = 'forged', hash = 'x', chain_seq = 999999 WHERE id = $1`, [id])
      .catch((e) => e);
    expect(sqlState(forge)).toBe('42501');
    await expectLinkedChain();
    const relink = await db.pool
      .query(`UPDATE audit_log SET hash = 'x', chain_seq = 999999 WHERE id = $1`, [id])
      .catch((e) => e);
    expect(sqlState(relink)).toBe('42501');
  });

  it('keeps the details exactly as hashed: dates, NUL characters, nested keys', async () => {
    await withTransaction(db.pool, (tx) =>
      appendAudit(tx, {
        actorId: null,
        action: 'test',
        entity: 'details\u0000',
        details: {
          when: new Date('2030-01-02T03:04:05.678Z'),
          text: 'a\u0000b',
          nested: { z: 1, a: [1, 'x'] },
          gone: undefined,
        },
      }),
    );
    const { rows } = await db.pool.query(`SELECT entity, details FROM audit_log ORDER BY id DESC LIMIT 1`);
    expect(rows[0]).toEqual({
      entity: 'details',
      details: { when: '2030-01-02T03:04:05.678Z', text: 'ab', nested: { z: 1, a: [1, 'x'] } },
    });
    expect((await verifyAuditChain(db.pool)).ok).toBe(true);
  });
});

describe('what is audited', () => {
  it('reads and writes of patient data, with actor, ip and user agent, in chain', async () => {
    const before = (await db.pool.query<{ n: number }>('SELECT coalesce(max(id), 0)::int AS n FROM audit_log')).rows[0]!
      .n;
    const patient = fx.patients[1]!;
    expect((await admin.get(`/api/patients/${patient}`)).status).toBe(200);
    expect((await admin.get('/api/patients?search=Patient')).status).toBe(200);
    const created = await admin.post('/api/patients', { full_name: 'Audited Person', date_of_birth: '1970-01-01' });
    expect(created.status).toBe(201);
    const { rows } = await db.pool.query(
      `SELECT action, entity, entity_id, actor_id, ip, user_agent FROM audit_log WHERE id > $1 ORDER BY id`,
      [before],
    );
    expect(rows).toEqual([
      expect.objectContaining({ entity: 'patient', entity_id: patient, action: expect.stringMatching(/read/) }),
      expect.objectContaining({ entity: 'patient', action: expect.stringMatching(/list/) }),
      expect.objectContaining({
        entity: 'patient',
        entity_id: created.body.patient.id,
        action: expect.stringMatching(/create/),
      }),
    ]);
    for (const row of rows) {
      expect(row.actor_id).toBe(fx.users.admin.id);
      expect(row.ip).toMatch(/127\.0\.0\.1/);
      expect(row.user_agent).toBeTruthy();
    }
    expect((await verifyAuditChain(db.pool)).ok).toBe(true);
  });
});

describe('append-only', () => {
  it('the trigger refuses UPDATE, DELETE and TRUNCATE, even for a superuser', async () => {
    for (const sql of ['UPDATE audit_log SET action = action', 'DELETE FROM audit_log', 'TRUNCATE audit_log']) {
      const err = await db.pool.query(sql).catch((e) => e);
      expect(sqlState(err), sql).toBe('42501');
      expect(err.message).toContain('append-only');
    }
  });

  it('the owning role holds no UPDATE, DELETE or TRUNCATE privilege on it', async () => {
    const { rows } = await db.pool.query<{ privilege_type: string }>(
      `SELECT a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = 'audit_log'::regclass AND a.grantee = c.relowner`,
    );
    const privileges = rows.map((r) => r.privilege_type);
    expect(privileges).toContain('INSERT');
    expect(privileges).not.toContain('UPDATE');
    expect(privileges).not.toContain('DELETE');
    expect(privileges).not.toContain('TRUNCATE');
  });
});

describe('GET /api/admin/audit', () => {
  it('pages newest first and filters by actor, entity and date range', async () => {
    const all = await admin.get('/api/admin/audit?page_size=5');
    expect(all.status).toBe(200);
    expect(all.body.results).toHaveLength(5);
    const ids = all.body.results.map((r: { id: number }) => r.id);
    expect([...ids].sort((x, y) => y - x)).toEqual(ids);
    expect(all.body.next).toBe('?page=2&page_size=5');

    const byEntity = await admin.get(`/api/admin/audit?entity=user&actor=${fx.users.admin.id}`);
    expect(byEntity.body.count).toBeGreaterThan(0);
    for (const row of byEntity.body.results) {
      expect(row).toMatchObject({
        entity: 'user',
        actor_id: fx.users.admin.id,
        actor_email: fx.users.admin.email,
        actor_name: expect.any(String),
      });
      // The subject is named, not only identified.
      if (row.entity_id) expect(row.entity_name).toEqual(expect.any(String));
    }
    const future = await admin.get('/api/admin/audit?from=2999-01-01T00:00:00Z');
    expect(future.body).toEqual({ count: 0, next: null, previous: null, results: [] });
    const past = await admin.get(
      `/api/admin/audit?to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
    );
    expect(past.body.count).toBe(all.body.count);
  });

  it('rejects bad filters and non-admins', async () => {
    const bad = await admin.get('/api/admin/audit?actor=me&from=yesterday&colour=red');
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual([
      'actor',
      'colour',
      'from',
    ]);
    const reception = new ApiClient(server.url);
    await reception.login(fx.users.receptionist.email, TEST_PASSWORD);
    expect((await reception.get('/api/admin/audit')).status).toBe(403);
    expect((await reception.get('/api/admin/audit/verify')).status).toBe(403);
    expect((await new ApiClient(server.url).get('/api/admin/audit')).status).toBe(401);
  });
});

describe('tampering', () => {
  const cli = () =>
    run(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'server/cli/audit-verify.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'silent' },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e) => ({ code: e.code as number, stdout: e.stdout as string }),
    );

  it('an edited row is reported, by the API and by npm run audit:verify, and restoring it heals the chain', async () => {
    const { rows } = await db.pool.query<{ id: number; details: unknown }>(
      `SELECT id, details FROM audit_log ORDER BY chain_seq LIMIT 1 OFFSET 3`,
    );
    const victim = rows[0]!;
    await asSuperuser(`UPDATE audit_log SET details = '{"forged": true}' WHERE id = $1`, [victim.id]);
    const res = await admin.get('/api/admin/audit/verify');
    expect(res.body).toMatchObject({ ok: false, checked: 3, first_bad_id: victim.id });
    const broken = await cli();
    expect(broken.code).toBe(2);
    expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, checked: 3, first_bad_id: victim.id });

    await asSuperuser(`UPDATE audit_log SET details = $2 WHERE id = $1`, [victim.id, JSON.stringify(victim.details)]);
    expect((await verifyAuditChain(db.pool)).ok).toBe(true);
    const healed = await cli();
    expect(healed.code).toBe(0);
    expect(JSON.parse(healed.stdout).ok).toBe(true);
  });

  it('a deleted row in the middle or at the end is reported', async () => {
    await expectLinkedChain();
    const { rows } = await db.pool.query<{ id: number }>('SELECT id FROM audit_log ORDER BY chain_seq DESC LIMIT 3');
    const [newest, , third] = rows.map((r) => r.id) as [number, number, number];
    await asSuperuser('DELETE FROM audit_log WHERE id = $1', [newest]);
    expect(await verifyAuditChain(db.pool)).toMatchObject({ ok: false, first_bad_id: newest });
    await asSuperuser('DELETE FROM audit_log WHERE id = $1', [third]);
    expect(await verifyAuditChain(db.pool)).toMatchObject({ ok: false, first_bad_id: rows[1]!.id });
  });
});
