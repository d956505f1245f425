// npm run backup: a base backup of the running database into BACKUP_DIR/base/<time>, then the
// retention (BACKUP_RETENTION_DAYS) applied to backups and archived WAL. Run it daily.
import { takeBackup } from '../backup/backup.js';
import { openForCli, runCli } from './open-for-cli.js';

await runCli(async () => {
  const { config, db } = await openForCli({ migrateFirst: false });
  try {
    if (!config.backupDir) {
      throw new Error(
        'Set BACKUP_DIR (a directory, ideally on another disk) for the server and this command, and restart the ' +
          'server once so the embedded PostgreSQL archives its WAL there (docs/operations.md, "Backups").',
      );
    }
    const result = await takeBackup({
      databaseUrl: db.url,
      backupDir: config.backupDir,
      retentionDays: config.backupRetentionDays,
    });
    console.log(
      `Backup ${result.name} in ${result.dir} (${(result.bytes / 1_048_576).toFixed(1)} MB, WAL ${result.start_lsn}–${result.stop_lsn}).`,
    );
    if (result.removed.length || result.removedWalFiles) {
      console.log(
        `Retention (${config.backupRetentionDays} days): removed ${result.removed.length} backup(s) and ${result.removedWalFiles} archived WAL file(s).`,
      );
    }
  } finally {
    await db.close();
  }
});
