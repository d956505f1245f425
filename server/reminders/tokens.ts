// Unsubscribe links: a token naming the patient and channel, signed with HMAC-SHA256 under the
// policy's link key, so opting out needs no login and a token can't be made for someone else.
// Tokens don't expire: an old reminder's link must still work.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type OptOutChannel = 'email' | 'sms' | 'all';

const sign = (key: Buffer, payload: string) => createHmac('sha256', key).update(payload).digest();

export function unsubscribeToken(key: Buffer, patientId: string, channel: OptOutChannel): string {
  const payload = `${patientId}:${channel}`;
  return `${Buffer.from(payload).toString('base64url')}.${sign(key, payload).toString('base64url')}`;
}

export function readUnsubscribeToken(key: Buffer, token: string): { patientId: string; channel: OptOutChannel } | null {
  const [p, s] = token.split('.');
  if (!p || !s) return null;
  const payload = Buffer.from(p, 'base64url').toString();
  const given = Buffer.from(s, 'base64url');
  const expected = sign(key, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const m = /^([0-9a-f-]{36}):(email|sms|all)$/.exec(payload);
  return m ? { patientId: m[1]!, channel: m[2] as OptOutChannel } : null;
}
