// npm run seed -- --doctors N --patients N --appointments N [--seed S]
import { parseArgs } from 'node:util';
import pg from 'pg';
import { withTransaction } from '../db/transaction.js';
import { generateClinic } from '../seed/generate.js';
import { loadClinic } from '../seed/load.js';
import { openForCli, runCli } from './open-for-cli.js';

await runCli(async () => {
  const { values } = parseArgs({
    options: {
      doctors: { type: 'string', default: '20' },
      patients: { type: 'string', default: '20000' },
      appointments: { type: 'string', default: '50000' },
      seed: { type: 'string', default: '1' },
    },
  });
  const spec = Object.fromEntries(
    Object.entries(values).map(([k, v]) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--${k} must be a non-negative integer`);
      return [k, n];
    }),
  ) as { doctors: number; patients: number; appointments: number; seed: number };
  const { config, db } = await openForCli();
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  try {
    if (config.isProduction) throw new Error('Refusing to load generated data with NODE_ENV=production.');
    const started = performance.now();
    const clinic = generateClinic({ ...spec, timeZone: config.clinicTimeZone });
    const generatedMs = performance.now() - started;
    await withTransaction(pool, (tx) => loadClinic(tx, clinic));
    const totalMs = performance.now() - started;
    console.log(
      `Created ${clinic.doctors.length} doctors, ${clinic.patients.length} patients and ` +
        `${clinic.appointments.length} appointments in ${(totalMs / 1000).toFixed(1)} s ` +
        `(generated in ${(generatedMs / 1000).toFixed(1)} s).`,
    );
  } finally {
    await pool.end();
    await db.close();
  }
});
