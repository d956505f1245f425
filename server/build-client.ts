import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILT_MARKER = path.join(ROOT, 'build/index.html');
/** What the client build is made from: a change to any of them makes build/ stale. */
const CLIENT_SOURCES = ['src', 'static', 'svelte.config.js', 'vite.config.ts', 'vite.prebuilt-data-dir.ts', 'package-lock.json'];

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const stat = statSync(p);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, entry)));
  return newest;
}

/**
 * True when build/ exists and is newer than every client source, so a `git pull` followed by
 * `npm start` (or a test run) never serves yesterday's app.
 */
export function isClientBuildCurrent(): boolean {
  if (!existsSync(BUILT_MARKER)) return false;
  const builtAt = statSync(BUILT_MARKER).mtimeMs;
  return CLIENT_SOURCES.every((source) => newestMtime(path.join(ROOT, source)) <= builtAt);
}

export class ClientBuildError extends Error {
  constructor(
    readonly code: number | null,
    readonly output: string,
  ) {
    super(`Building the app failed (vite build exited with ${code}). Its output:\n\n${output.trim()}`);
  }
}

/**
 * Runs `vite build` (the SvelteKit client) and resolves when it succeeded. Quiet by default:
 * the build's own ~150 lines (and its advice to run `npm run preview`, which does not apply
 * here) are kept and shown only if it fails, or live with `verbose` (LOG_LEVEL=debug).
 */
export function buildClient({ verbose = false }: { verbose?: boolean } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build'], {
      cwd: ROOT,
      // Always a production build: Vite derives import.meta.env.DEV from NODE_ENV, and a
      // build started from the test runner (NODE_ENV=test) would ship a dev-mode app
      // that never registers its service worker.
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: verbose ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => chunks.push(d));
    child.stderr?.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new ClientBuildError(code, Buffer.concat(chunks).toString('utf8'))),
    );
  });
}
