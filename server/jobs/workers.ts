// Every job worker the app runs, for server.ts (in process) and worker.ts (`npm run worker`).
import { idempotencyPurgeWorker } from './periodic.js';
import type { JobWorker } from './runner.js';

export const ALL_WORKERS: JobWorker[] = [idempotencyPurgeWorker];
