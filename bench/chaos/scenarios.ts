// The chaos scenarios. Each runs the write storm with live devices through one fault, then
// the consistency check (bench/load/consistency.ts): every acknowledged write present exactly
// once, every live device equal to a fresh snapshot of its shapes, the audit chain intact.
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync, rmSync, statfsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { TcpProxy } from '../../tests/setup/tcp-proxy.js';
import { createPeople, type Person } from '../load/clinic.js';
import { checkConsistency, type ConsistencyReport } from '../load/consistency.js';
import { Fleet, type DeviceSpec } from '../load/devices.js';
import { storm, type StormResult } from './storm.js';

/** What a scenario may do to the system under test. */
export interface Target {
  url: string;
  pgUrl: string;
  /** The server's PUBLIC_ORIGIN, when it is not `url`. */
  origin?: string;
  /** kill -9 the server process and start it again (spawned servers only). */
  killAndRestartServer?: () => Promise<void>;
  /** kill -9 the embedded postmaster (spawned servers only; the server restarts it). */
  killPostgres?: () => void;
  /** The DATA_DIR's mount, when it is a size-limited tmpfs of ours. */
  dataDirMount?: string;
}

export interface ScenarioSize {
  writers: number;
  devices: number;
  seconds: number;
  /** How long devices may take to match the server at the end (default 45 s). */
  settleMs?: number;
}

export interface ScenarioReport {
  ok: boolean;
  name: string;
  fault: string;
  storm: Omit<StormResult, 'acknowledged'> & { acknowledged: number };
  consistency: ConsistencyReport;
  notes: string[];
}

export type ScenarioName = 'kill-server' | 'kill-postgres' | 'walsender' | 'lossy-link' | 'clock-skew' | 'disk-full';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setUp(target: Target, size: ScenarioSize, pool: pg.Pool) {
  const writers = await createPeople(pool, size.writers, { admin: 0, receptionist: 1, clinician: 0 }, 'chaos-writer');
  const devicePeople = await createPeople(
    pool,
    size.devices,
    { admin: 0.2, receptionist: 0.5, clinician: 0.3 },
    'chaos-device',
  );
  const doctors = (await pool.query<{ id: string }>('SELECT id FROM doctors WHERE active ORDER BY id')).rows.map(
    (r) => r.id,
  );
  const patients = (await pool.query<{ id: string }>('SELECT id FROM patients ORDER BY id LIMIT 500')).rows.map(
    (r) => r.id,
  );
  const specs: DeviceSpec[] = devicePeople.map((p: Person) => ({
    cookie: p.cookie,
    tables: ['appointments', 'patients'],
    scope: `${p.role}:${p.doctorId ?? ''}`,
  }));
  return {
    writers: writers.map((person, i) => ({ person, doctorId: doctors[i % doctors.length]! })),
    patients,
    specs,
  };
}

async function waitUpToDate(fleet: Fleet, n: number, ms = 60_000) {
  const until = Date.now() + ms;
  while (fleet.upToDate() < n && Date.now() < until) await sleep(200);
}

export async function runScenario(name: ScenarioName, target: Target, size: ScenarioSize): Promise<ScenarioReport> {
  const pool = new pg.Pool({ connectionString: target.pgUrl, max: 3 });
  pool.on('error', () => {});
  const notes: string[] = [];
  const fleet = new Fleet();
  let proxy: TcpProxy | undefined;
  try {
    const { writers, patients, specs } = await setUp(target, size, pool);
    let clientUrl = target.url;
    if (name === 'lossy-link') {
      const u = new URL(target.url);
      proxy = new TcpProxy({ host: u.hostname, port: Number(u.port) });
      await proxy.listen();
      clientUrl = `http://127.0.0.1:${proxy.port}`;
    }
    await fleet.start(clientUrl, specs, 0);
    await waitUpToDate(fleet, specs.length);
    const until = Date.now() + size.seconds * 1000;
    const running = storm({ url: clientUrl, writers, patients, until, origin: target.origin ?? target.url });
    let fault = '';
    const third = (size.seconds * 1000) / 3;
    switch (name) {
      case 'kill-server': {
        fault = 'kill -9 of the server process a third into the storm, then a restart';
        await sleep(third);
        await target.killAndRestartServer!();
        break;
      }
      case 'kill-postgres': {
        fault = 'kill -9 of the embedded PostgreSQL a third into the storm (the server restarts it)';
        await sleep(third);
        target.killPostgres!();
        break;
      }
      case 'walsender': {
        fault = 'pg_terminate_backend on the replication connection (walsender), twice';
        for (let i = 0; i < 2; i++) {
          await sleep(third);
          const { rows } = await pool.query<{ n: number }>(
            // This database's walsenders only (a test cluster holds other databases too).
            `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
              WHERE backend_type = 'walsender' AND datname = current_database()`,
          );
          notes.push(`terminated ${rows[0]!.n} walsender(s)`);
        }
        break;
      }
      case 'lossy-link': {
        fault =
          'clients reach the server through a TCP proxy adding 150 ms per chunk, resetting 15 % and dropping 5 % of connections';
        proxy!.quality = { latencyMs: 150, resetShare: 0.15, dropShare: 0.05 };
        proxy!.cutAll(); // kept-alive connections would otherwise escape the bad link

        await sleep(size.seconds * 1000 - 2000);
        notes.push(`${proxy!.cuts} connections cut by the proxy`);
        proxy!.quality = {};
        break;
      }
      case 'clock-skew': {
        fault = 'a device an hour ahead books offline, then replays its outbox';
        notes.push(...(await clockSkewedDevice(target, writers[0]!.person, writers[0]!.doctorId, patients, pool)));
        break;
      }
      case 'disk-full': {
        fault = 'DATA_DIR on a size-limited tmpfs filled to the last MB mid-storm, then space freed';
        const mount = target.dataDirMount!;
        await sleep(third);
        const filler = path.join(mount, 'filler.bin');
        fillDisk(filler);
        notes.push(`filled ${mount} (free now ${Math.round(freeBytes(mount) / 1024)} KiB)`);
        await sleep(third);
        rmSync(filler, { force: true });
        notes.push('freed the space');
        break;
      }
    }
    const result = await running;
    const consistency = await checkConsistency({
      pool,
      url: target.url,
      acknowledged: result.acknowledged,
      specs,
      digests: async () => fleet.digests(),
      settleMs: size.settleMs ?? 45_000,
    });
    return {
      // A storm that got nothing acknowledged proves nothing.
      ok: consistency.ok && result.acknowledged.length > 0 && !notes.some((n) => n.includes('FAILED')),
      name,
      fault,
      storm: { ...result, acknowledged: result.acknowledged.length, unanswered: result.unanswered.slice(0, 10) },
      consistency,
      notes,
    };
  } finally {
    fleet.stop();
    await proxy?.close();
    await pool.end();
  }
}

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Fills the file system holding `file` to its last MiB. */
function fillDisk(file: string) {
  const dir = path.dirname(file);
  const leave = 1024 * 1024;
  const size = Math.max(0, freeBytes(dir) - leave);
  execFileSync('fallocate', ['-l', String(size), file]);
}

/**
 * A device whose clock runs an hour ahead books three appointments while offline (ids, bodies
 * and its own "now" taken from its clock), then comes back online and sends its outbox. The
 * server must accept them once each and keep its own times: created_at, the audit rows and a
 * heartbeat's last_synced_at (clamped) follow the server's clock, not the device's.
 */
async function clockSkewedDevice(
  target: Target,
  person: Person,
  doctorId: string,
  patients: string[],
  pool: pg.Pool,
): Promise<string[]> {
  const notes: string[] = [];
  const url = target.url;
  const origin = target.origin ?? url;
  const deviceNow = () => Date.now() + 3_600_000;
  const queued = [0, 1, 2].map((i) => ({
    id: randomUUID(),
    patient_id: patients[i]!,
    doctor_id: doctorId,
    // "Tomorrow 10:00" by the device's clock, 3 years out so nothing else competes for it.
    starts_at: new Date(
      Math.floor(deviceNow() / 86_400_000) * 86_400_000 + 3 * 365 * 86_400_000 + (10 + i) * 3_600_000,
    ).toISOString(),
    duration_minutes: 30,
  }));
  await sleep(1500); // offline for a while
  const sentFrom = new Date();
  for (const body of queued) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const res = await fetch(`${url}/api/appointments`, {
        method: 'POST',
        headers: { cookie: person.cookie, origin, 'content-type': 'application/json', 'idempotency-key': body.id },
        body: JSON.stringify(body),
      }).catch(() => null);
      if (res && (res.status < 500 || res.status >= 600)) {
        notes.push(`skewed booking answered ${res.status}`);
        break;
      }
      await sleep(500);
    }
  }
  const hb = await fetch(`${url}/api/devices/heartbeat`, {
    method: 'POST',
    headers: { cookie: person.cookie, origin, 'content-type': 'application/json' },
    body: JSON.stringify({
      device_id: randomUUID(),
      app_version: 'chaos',
      online: true,
      outbox_pending: 0,
      outbox_rejected: 0,
      last_synced_at: new Date(deviceNow()).toISOString(),
    }),
  });
  notes.push(`heartbeat answered ${hb.status}`);
  const { rows } = await pool.query<{ n: number; future: number }>(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE created_at > now() + interval '5 minutes' OR created_at < $2)::int AS future
       FROM appointments WHERE id = ANY($1::uuid[])`,
    [queued.map((q) => q.id), sentFrom],
  );
  const { rows: devices } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM devices WHERE last_synced_at > now() + interval '5 minutes'`,
  );
  notes.push(
    `skewed bookings stored: ${rows[0]!.n}/3; with a device-clock created_at: ${rows[0]!.future}; heartbeats with a future last_synced_at: ${devices[0]!.n}`,
  );
  if (rows[0]!.n !== 3 || rows[0]!.future !== 0 || devices[0]!.n !== 0) notes.push('CLOCK SKEW CHECK FAILED');
  return notes;
}
