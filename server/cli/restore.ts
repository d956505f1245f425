// npm run restore -- --from <backup|name|latest> [--to <time>] [--into <dir>]
// Restores a base backup into a NEW data directory, replaying archived WAL to the end or to
// --to (ISO 8601, e.g. 2026-11-30T09:15:00Z or with an offset). Then: DATA_DIR=<dir> npm start.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { walDir } from '../backup/catalog.js';
import { findBackup, restoreBackup } from '../backup/restore.js';
import { runCli } from './open-for-cli.js';

await runCli(async () => {
  const { values } = parseArgs({
    options: { from: { type: 'string' }, to: { type: 'string' }, into: { type: 'string' } },
  });
  if (!values.from) throw new Error('--from: which backup (its folder, its name, or "latest")');
  const targetTime = values.to ? new Date(values.to) : undefined;
  if (targetTime && Number.isNaN(targetTime.getTime())) {
    throw new Error(`--to: "${values.to}" is not a time; use ISO 8601, e.g. 2026-11-30T09:15:00Z`);
  }
  const config = loadConfig();
  const backup = findBackup(values.from, config.backupDir);
  const backupDir = path.dirname(path.dirname(backup.dir));
  const into = path.resolve(
    values.into ?? `${config.dataDir}-restored-${new Date().toISOString().replace(/[:.]/g, '-')}`,
  );
  console.log(
    `Restoring ${backup.name}${targetTime ? ` to ${targetTime.toISOString()}` : ' to the end of the archive'} into ${into} ...`,
  );
  await restoreBackup({ backup, walArchive: walDir(backupDir), into, targetTime });
  console.log(`Restored. Start the server on it with:\n  DATA_DIR=${into} npm start`);
});
