// One load run: devices holding live shapes + staff working the API for a bounded time, then
// the figures (per operation, propagation, server RSS/CPU, PostgreSQL connections) and the
// consistency check. `npm run load` (bench/load/run.ts) runs it big against a spawned server;
// the CI test runs it tiny against an in-process one.
import pg from 'pg';
import { checkConsistency, type ConsistencyReport } from './consistency.js';
import { createPeople, startSampler, type Person } from './clinic.js';
import { Fleet, type DeviceSpec } from './devices.js';
import type { FleetHandle } from './fleet-process.js';
import { percentile, round, OpStats, type OpFigures } from './stats.js';
import { loadWorld, staffLoop, type StaffWorld } from './staff.js';

export interface LoadOptions {
  url: string;
  pgUrl: string;
  devices: number;
  staff: number;
  seconds: number;
  /** Spread of device start-ups (a clinic opening in the morning). */
  rampSeconds: number;
  thinkMs: [number, number];
  serverPid: () => number | undefined;
  /** The server's PUBLIC_ORIGIN, when it is not `url`. */
  origin?: string;
  /** A fleet in its own process (default: inline). */
  fleet?: FleetHandle;
  log?: (m: string) => void;
}

export interface LoadReport {
  options: { devices: number; staff: number; seconds: number; ramp_seconds: number; think_ms: [number, number] };
  devices_up_to_date: number;
  device_stream_errors: number;
  operations: Record<string, OpFigures>;
  api_reads_p95_ms: number | null;
  propagation: { samples: number; p50_ms: number | null; p95_ms: number | null; p99_ms: number | null };
  server: Awaited<ReturnType<ReturnType<typeof startSampler>['stop']>>;
  consistency: ConsistencyReport;
}

const TABLES = ['appointments', 'patients'];

function inlineFleet(): FleetHandle {
  const fleet = new Fleet();
  return {
    start: (url, specs, rampMs) => fleet.start(url, specs, rampMs),
    status: async () => ({ upToDate: fleet.upToDate(), errors: fleet.errors(), rss_mb: 0 }),
    propagation: async (writes) => fleet.propagation(writes),
    digests: async () => fleet.digests(),
    stop: async () => fleet.stop(),
  };
}

export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const log = o.log ?? (() => {});
  const pool = new pg.Pool({ connectionString: o.pgUrl, max: 4 });
  const fleet = o.fleet ?? inlineFleet();
  try {
    const devicePeople = await createPeople(
      pool,
      o.devices,
      { admin: 0.1, receptionist: 0.5, clinician: 0.4 },
      'device',
    );
    const staffPeople = await createPeople(pool, o.staff, { admin: 0.1, receptionist: 0.6, clinician: 0.3 }, 'staff');
    const specs: DeviceSpec[] = devicePeople.map((p: Person) => ({
      cookie: p.cookie,
      tables: TABLES,
      scope: `${p.role}:${p.doctorId ?? ''}`,
    }));
    log(`starting ${o.devices} devices over ${o.rampSeconds} s`);
    await fleet.start(o.url, specs, o.rampSeconds * 1000);
    const syncedBy = Date.now() + Math.max(60_000, o.rampSeconds * 3000);
    for (;;) {
      const s = await fleet.status();
      if (s.upToDate >= o.devices || Date.now() > syncedBy) {
        log(`${s.upToDate}/${o.devices} devices up to date`);
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }

    const stats = new OpStats();
    const world: StaffWorld = { ...(await loadWorld(pool, o.url, stats, o.thinkMs)), origin: o.origin };
    const sampler = startSampler(pool, o.serverPid);
    log(`${o.staff} staff working for ${o.seconds} s`);
    const until = Date.now() + o.seconds * 1000;
    await Promise.all(staffPeople.map((p) => staffLoop(world, p, until)));
    const server = await sampler.stop();
    // Let the last writes reach the devices before measuring and checking.
    await new Promise((r) => setTimeout(r, 3000));
    const prop = (await fleet.propagation(world.created)).sort((a, b) => a - b);
    const operations = stats.figures(o.seconds);
    const reads = ['list_appointments', 'search_patients', 'read_appointment'];
    const readTimes: number[] = [];
    // p95 over all reads, weighted by count: recomputed from the per-op figures' raw times.
    for (const r of reads) if (operations[r]) readTimes.push(operations[r]!.p95_ms ?? 0);
    const status = await fleet.status();
    const consistency = await checkConsistency({
      pool,
      url: o.url,
      acknowledged: world.acknowledged,
      specs,
      digests: () => fleet.digests(),
    });
    return {
      options: {
        devices: o.devices,
        staff: o.staff,
        seconds: o.seconds,
        ramp_seconds: o.rampSeconds,
        think_ms: o.thinkMs,
      },
      devices_up_to_date: status.upToDate,
      device_stream_errors: status.errors,
      operations,
      api_reads_p95_ms: readTimes.length ? Math.max(...readTimes) : null,
      propagation: {
        samples: prop.length,
        p50_ms: round(percentile(prop, 50)),
        p95_ms: round(percentile(prop, 95)),
        p99_ms: round(percentile(prop, 99)),
      },
      server,
      consistency,
    };
  } finally {
    await fleet.stop();
    await pool.end();
  }
}
