import { text, z } from './zod';

/** A shape offset as the Electric clients keep it: -1 (not started) or `<lsn>_<op>`. */
export const SHAPE_OFFSET = /^(-1|now|\d{1,20}_(\d{1,20}|inf))$/;

const count = z.number().int().min(0).max(10_000_000);
const bytes = z
  .number()
  .min(0)
  .max(2 ** 53);

/** POST /api/devices/heartbeat: what every app instance reports about itself. */
export const heartbeatSchema = z.strictObject({
  device_id: z.uuid(),
  app_version: text().trim().min(1).max(64),
  online: z.boolean(),
  outbox_pending: count,
  outbox_rejected: count,
  /** When the device last reached up-to-date on all its shapes. */
  last_synced_at: z.iso.datetime({ offset: true }).nullable(),
  shapes: z
    .record(
      z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a table name'),
      z.string().regex(SHAPE_OFFSET, 'must be a shape offset'),
    )
    .refine((s) => Object.keys(s).length <= 32, 'at most 32 shapes')
    .default({}),
  storage: z
    .strictObject({
      persisted: z.boolean().nullable().optional(),
      usage: bytes.nullable().optional(),
      quota: bytes.nullable().optional(),
    })
    .default({}),
});

export type Heartbeat = z.output<typeof heartbeatSchema>;
