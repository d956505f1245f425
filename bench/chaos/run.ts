// npm run chaos [-- --only kill-server,walsender --writers 8 --devices 12 --seconds 30]
// Each scenario against a real `npm start` (own process, own DATA_DIR, seeded): a write storm
// with live devices through one fault, then the consistency check. Prints one line per
// scenario and writes the reports with the machine to bench/results/chaos-<date>.json.
// disk-full needs a tmpfs mount (root); without it the scenario is reported as skipped.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, SpawnedClinic } from '../load/clinic.js';
import { machine } from '../load/stats.js';
import { runScenario, type ScenarioName, type ScenarioReport, type Target } from './scenarios.js';

const ALL: ScenarioName[] = ['kill-server', 'kill-postgres', 'walsender', 'lossy-link', 'clock-skew', 'disk-full'];
const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    writers: { type: 'string', default: '8' },
    devices: { type: 'string', default: '12' },
    seconds: { type: 'string', default: '30' },
  },
});
const chosen = (values.only?.split(',') as ScenarioName[] | undefined) ?? ALL;
const size = { writers: Number(values.writers), devices: Number(values.devices), seconds: Number(values.seconds) };
const SEED = { doctors: 8, patients: 400, appointments: 800 };

async function spawnedTarget(clinic: SpawnedClinic): Promise<Target> {
  return {
    url: clinic.url,
    pgUrl: clinic.pgUrl,
    killAndRestartServer: async () => {
      await clinic.kill9();
      await clinic.start();
    },
    killPostgres: () => {
      const pid = clinic.postmasterPid();
      if (pid) process.kill(pid, 'SIGKILL');
    },
  };
}

async function diskFull(): Promise<ScenarioReport | { name: string; skipped: string }> {
  const mount = await mkdtemp(path.join(os.tmpdir(), 'clinic-chaos-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=320m', 'tmpfs', mount], { stdio: 'ignore' });
  } catch {
    await rm(mount, { recursive: true, force: true });
    return { name: 'disk-full', skipped: 'cannot mount a tmpfs here (needs root); see docs/operations.md' };
  }
  let clinic: SpawnedClinic | undefined;
  try {
    clinic = await SpawnedClinic.create({}, path.join(mount, 'data'));
    await clinic.seed(SEED);
    return await runScenario('disk-full', { ...(await spawnedTarget(clinic)), dataDirMount: mount }, size);
  } finally {
    await clinic?.stop();
    execFileSync('umount', [mount]);
    await rm(mount, { recursive: true, force: true });
  }
}

async function main() {
  const started = new Date();
  const reports: Array<ScenarioReport | { name: string; skipped: string }> = [];
  const clinic = await SpawnedClinic.create();
  try {
    await clinic.seed(SEED);
    for (const name of chosen.filter((n) => n !== 'disk-full')) {
      console.error(`\n--- ${name}`);
      const report = await runScenario(name, await spawnedTarget(clinic), size);
      reports.push(report);
      console.log(
        `${report.ok ? 'PASS' : 'FAIL'} ${name}: ${JSON.stringify({ storm: report.storm, consistency: report.consistency, notes: report.notes })}`,
      );
    }
  } finally {
    await clinic.stop();
  }
  if (chosen.includes('disk-full')) {
    console.error('\n--- disk-full');
    const report = await diskFull();
    reports.push(report);
    console.log(
      'skipped' in report
        ? `SKIP disk-full: ${report.skipped}`
        : `${report.ok ? 'PASS' : 'FAIL'} disk-full: ${JSON.stringify(report)}`,
    );
  }
  const dir = path.join(ROOT, 'bench/results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `chaos-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    JSON.stringify(
      { benchmark: 'chaos', date: started.toISOString(), machine: machine(), size, seed: SEED, reports },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nsaved ${path.relative(ROOT, file)}`);
  if (reports.some((r) => 'ok' in r && !r.ok)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
