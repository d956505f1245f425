// Every job worker the app runs, for server.ts (in process) and worker.ts (`npm run worker`).
import { idempotencyPurgeWorker } from './periodic.js';
import type { JobWorker } from './runner.js';
import { reminderSendWorker, reminderSweepWorker } from '../reminders/workers.js';

export const ALL_WORKERS: JobWorker[] = [idempotencyPurgeWorker, reminderSendWorker, reminderSweepWorker];
