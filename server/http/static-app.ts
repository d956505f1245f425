// Serves the built SPA (adapter-static output in build/): hashed assets cached for a year,
// index.html and the service worker never cached, the SPA fallback for client routes, and
// everything compressed: the build ships .br/.gz siblings (PGlite's WASM and data are most
// of the first load), anything without one is compressed on the fly.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import compression from 'compression';
import express, { Router, type RequestHandler } from 'express';

export const BUILD_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../build');
const PACKAGE_JSON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../package.json');

export function isClientBuilt(buildDir = BUILD_DIR): boolean {
  return existsSync(path.join(buildDir, 'index.html'));
}

/** sha256 hashes of the inline <script>s in index.html, for the Content-Security-Policy. */
export function inlineScriptHashes(buildDir = BUILD_DIR): string[] {
  if (!isClientBuilt(buildDir)) return [];
  const html = readFileSync(path.join(buildDir, 'index.html'), 'utf8');
  const hashes: string[] = [];
  for (const match of html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)) {
    hashes.push(`'sha256-${createHash('sha256').update(match[1]!).digest('base64')}'`);
  }
  return hashes;
}

const NO_CACHE = new Set(['/index.html', '/sw.js', '/manifest.webmanifest', '/registerSW.js']);

function cacheControl(rel: string): string {
  if (rel.startsWith('/_app/immutable/')) return 'public, max-age=31536000, immutable';
  if (NO_CACHE.has(rel) || rel.startsWith('/workbox-')) return 'no-cache';
  return 'public, max-age=3600';
}

const ENCODINGS = [
  { name: 'br', ext: '.br' },
  { name: 'gzip', ext: '.gz' },
] as const;

/** Serves `file.br` / `file.gz` built next to `file` when the browser accepts it. */
function precompressed(buildDir: string): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    let rel: string;
    try {
      rel = decodeURIComponent(req.path);
    } catch {
      return next(); // a malformed path is for express.static / the 404 to answer
    }
    const file = path.join(buildDir, rel);
    if (!file.startsWith(buildDir + path.sep) || !existsSync(file) || !statSync(file).isFile()) return next();
    const accepted = req.acceptsEncodings(...ENCODINGS.map((e) => e.name));
    const encoding = ENCODINGS.find((e) => e.name === accepted && existsSync(file + e.ext));
    res.vary('Accept-Encoding');
    if (!encoding) return next();
    res.setHeader('Content-Encoding', encoding.name);
    res.setHeader('Cache-Control', cacheControl(rel));
    res.type(path.extname(file) || 'application/octet-stream');
    res.sendFile(rel + encoding.ext, { root: buildDir, cacheControl: false, lastModified: true, headers: {} });
  };
}

export interface StaticAppOptions {
  buildDir?: string;
  /** Published to the app at /app-config.json: the clinic's day is in this zone. */
  clinicTimeZone?: string;
  /** Published too: the device applies the same check-in window offline. */
  checkInEarlyMinutes?: number;
}

export function createStaticAppRouter({
  buildDir = BUILD_DIR,
  clinicTimeZone = 'UTC',
  checkInEarlyMinutes = 60,
}: StaticAppOptions = {}): Router {
  const router = Router();
  const appVersion = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;
  router.get('/app-config.json', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.json({ clinic_timezone: clinicTimeZone, check_in_early_minutes: checkInEarlyMinutes, app_version: appVersion });
  });
  if (!isClientBuilt(buildDir)) return router;
  router.use(precompressed(buildDir));
  // Compress everything else but the long-polls and API (mounted before this router).
  router.use(compression());
  router.use(
    express.static(buildDir, {
      index: false,
      setHeaders(res, filePath) {
        res.setHeader('Cache-Control', cacheControl('/' + path.relative(buildDir, filePath).split(path.sep).join('/')));
      },
    }),
  );
  router.get('/{*splat}', (req, res, next) => {
    if (req.path.startsWith('/api/') || req.path.startsWith('/v1/')) return next();
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile('index.html', { root: buildDir });
  });
  return router;
}
