import { Router } from 'express';
import type { AppDeps } from '../deps.js';

export function createDevicesRouter(_deps: AppDeps): Router {
  const router = Router();
  return router;
}
