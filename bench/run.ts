// npm run bench -- <name> [args]: runs one benchmark script (or all, one after another).
// Each script prints its table and writes JSON with the machine and date to bench/results/.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const BENCHMARKS = ['booking', 'sync', 'sync-routing', 'client', 'offline-writes'] as const;
const [name, ...args] = process.argv.slice(2);
const chosen = name === undefined || name === 'all' ? [...BENCHMARKS] : [name];

for (const bench of chosen) {
  if (!(BENCHMARKS as readonly string[]).includes(bench)) {
    console.error(`Unknown benchmark "${bench}". Choose one of: ${BENCHMARKS.join(', ')}, all.`);
    process.exit(2);
  }
  console.log(`\n=== bench:${bench} ===`);
  const tsx = path.resolve(import.meta.dirname, '../node_modules/tsx/dist/cli.mjs');
  const result = spawnSync(process.execPath, [tsx, path.join(import.meta.dirname, `${bench}.ts`), ...args], {
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
