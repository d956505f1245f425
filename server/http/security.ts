// Security headers (helmet with a CSP the SPA, its worker and PGlite's WASM can live with),
// CORS for the configured origins only, and the Origin check that stands in for CSRF tokens.
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import type { Config } from '../config.js';
import { HttpError } from './errors.js';
import { inlineScriptHashes } from './static-app.js';

export function securityHeaders(config: Config): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // 'wasm-unsafe-eval' lets PGlite compile its WASM; the hashes allow SvelteKit's inline bootstrap.
        scriptSrc: ["'self'", "'wasm-unsafe-eval'", ...inlineScriptHashes()],
        workerSrc: ["'self'", 'blob:'],
        connectSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        upgradeInsecureRequests: config.publicOrigin.startsWith('https:') ? [] : null,
      },
    },
    // Cross-origin isolation is not needed by PGlite and would block nothing useful here.
    crossOriginEmbedderPolicy: false,
    strictTransportSecurity: config.publicOrigin.startsWith('https:'),
  });
}

const EXPOSED = [
  'electric-cursor',
  'electric-handle',
  'electric-has-data',
  'electric-offset',
  'electric-schema',
  'electric-up-to-date',
  'electric-internal-known-error',
  'retry-after',
].join(',');

export function cors(config: Config): RequestHandler {
  const allowed = new Set(config.corsOrigins);
  return (req, res, next) => {
    const origin = req.get('origin');
    if (origin && allowed.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Expose-Headers', EXPOSED);
      res.vary('Origin');
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PATCH, DELETE, HEAD, OPTIONS');
        res.setHeader(
          'Access-Control-Allow-Headers',
          'content-type, idempotency-key, if-none-match, traceparent, authorization',
        );
        res.setHeader('Access-Control-Max-Age', '600');
        return void res.status(204).end();
      }
    }
    next();
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/**
 * Outside production, a server whose public origin is on this machine answers to all three
 * names of this machine on its port: a newcomer who opens http://127.0.0.1:3000 while the
 * server printed localhost must still be able to log in.
 */
export function loopbackOrigins(config: Config): string[] {
  if (config.isProduction) return [];
  const publicUrl = new URL(config.publicOrigin);
  if (!LOOPBACK_HOSTS.includes(publicUrl.hostname)) return [];
  const ports = new Set([publicUrl.port || (publicUrl.protocol === 'https:' ? '443' : '80')]);
  if (config.port) ports.add(String(config.port));
  return [...ports].flatMap((port) =>
    LOOPBACK_HOSTS.map((host) => new URL(`${publicUrl.protocol}//${host}:${port}`).origin),
  );
}

/** Non-GET requests must come from our own origin (or a configured one): 403 origin_mismatch. */
export function originCheck(config: Config): RequestHandler {
  const allowed = new Set([config.publicOrigin, ...config.corsOrigins, ...loopbackOrigins(config)]);
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const origin = req.get('origin');
    if (!origin || !allowed.has(origin)) {
      return next(new HttpError(403, 'origin_mismatch', 'The request did not come from this app.'));
    }
    next();
  };
}
