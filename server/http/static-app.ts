// Serves the built SPA (adapter-static output in build/): hashed assets cached for a year,
// index.html and the service worker never cached, and the SPA fallback for client routes.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import compression from 'compression';
import express, { Router } from 'express';

export const BUILD_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../build');

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

export function createStaticAppRouter(buildDir = BUILD_DIR): Router {
  const router = Router();
  if (!isClientBuilt(buildDir)) return router;
  // Compress everything but the long-polls and API (mounted before this router).
  router.use(compression());
  router.use(
    express.static(buildDir, {
      index: false,
      setHeaders(res, filePath) {
        const rel = '/' + path.relative(buildDir, filePath).split(path.sep).join('/');
        if (rel.startsWith('/_app/immutable/')) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
        else if (NO_CACHE.has(rel)) res.setHeader('Cache-Control', 'no-cache');
        else res.setHeader('Cache-Control', 'public, max-age=3600');
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
