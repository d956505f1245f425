import { defineConfig } from 'vitest/config';

// Three projects, one `npm test`: unit (no database), integration (real PostgreSQL + real HTTP
// server) and e2e (also a real Chromium). The database projects share a global setup that
// starts one PostgreSQL and builds a migrated template database once.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['tests/server/**/*.test.ts'],
          globalSetup: ['tests/setup/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Each file gets its own database; two workers suit this 2-core machine.
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'e2e',
          sequence: { groupOrder: 2 },
          include: ['tests/e2e/**/*.test.ts'],
          globalSetup: ['tests/setup/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          // A real browser on a loaded 2-core machine has timing noise (a render or a sync
          // round landing late); a failing test gets one more try, a broken feature fails twice.
          retry: 1,
        },
      },
    ],
  },
});
