// npm run load [-- --devices 800 --staff 200 --seconds 180 --ramp 60]
// A real `npm start` in its own process, seeded; ~800 devices (own process) holding their
// role's live shapes through @electric-sql/client; ~200 staff doing the daily mix through the
// API for a bounded time. Prints the figures and writes them with the machine to
// bench/results/load-<date>.json.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, SpawnedClinic } from './clinic.js';
import { fleetProcess } from './fleet-process.js';
import { runLoad } from './load.js';
import { machine } from './stats.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '800' },
    staff: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '180' },
    ramp: { type: 'string', default: '60' },
    doctors: { type: 'string', default: '20' },
    patients: { type: 'string', default: '2000' },
    appointments: { type: 'string', default: '4000' },
  },
});

async function main() {
  const started = new Date();
  const machineBefore = machine();
  const clinic = await SpawnedClinic.create();
  try {
    const data = {
      doctors: Number(values.doctors),
      patients: Number(values.patients),
      appointments: Number(values.appointments),
    };
    console.error(`seeding ${JSON.stringify(data)}…`);
    await clinic.seed(data);
    const report = await runLoad({
      url: clinic.url,
      pgUrl: clinic.pgUrl,
      devices: Number(values.devices),
      staff: Number(values.staff),
      seconds: Number(values.seconds),
      rampSeconds: Number(values.ramp),
      thinkMs: [1000, 3000],
      serverPid: () => clinic.serverPid(),
      fleet: fleetProcess(),
      log: (m) => console.error(m),
    });
    const result = {
      benchmark: 'load',
      date: started.toISOString(),
      machine: machineBefore,
      machine_after: machine(),
      data,
      ...report,
    };
    console.log('\noperation           count   /s    p50    p95    p99  errors  statuses');
    for (const [op, f] of Object.entries(report.operations)) {
      console.log(
        `${op.padEnd(18)} ${String(f.count).padStart(6)} ${String(f.per_second).padStart(5)} ${String(f.p50_ms).padStart(6)} ${String(f.p95_ms).padStart(6)} ${String(f.p99_ms).padStart(6)} ${String(f.errors).padStart(7)}  ${JSON.stringify(f.statuses)}`,
      );
    }
    console.log(
      `\ndevices up to date: ${report.devices_up_to_date}/${report.options.devices}, stream errors ${report.device_stream_errors}`,
    );
    console.log(`write → device: ${JSON.stringify(report.propagation)}`);
    console.log(`server: ${JSON.stringify(report.server)}`);
    console.log(`consistency: ${JSON.stringify(report.consistency)}`);
    const dir = path.join(ROOT, 'bench/results');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `load-${started.toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, JSON.stringify(result, null, 2) + '\n');
    console.log(`\nsaved ${path.relative(ROOT, file)}`);
    if (!report.consistency.ok) process.exitCode = 1;
  } finally {
    await clinic.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
