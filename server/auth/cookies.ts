import { parseCookie } from 'cookie';
import type { Request, Response } from 'express';
import type { Config } from '../config.js';

export const SESSION_COOKIE = 'clinic_session';

export function readSessionToken(req: Request): string | undefined {
  const header = req.headers.cookie;
  return header ? parseCookie(header)[SESSION_COOKIE] : undefined;
}

export function setSessionCookie(res: Response, config: Config, token: string, expiresAt: Date): void {
  res.cookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    expires: expiresAt,
    secure: config.publicOrigin.startsWith('https:'),
  });
}

export function clearSessionCookie(res: Response, config: Config): void {
  res.clearCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: config.publicOrigin.startsWith('https:'),
  });
}
