import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.js';

describe('config', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      publicOrigin: 'http://localhost:3000',
      clinicTimeZone: 'UTC',
    });
    expect(c.rateLimits).toMatchObject({ anonPerHour: 100, userPerHour: 1000, writesPerHour: 1000 });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ CLINIC_TIMEZONE: 'Mars/Olympus' }, 'CLINIC_TIMEZONE'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ RATE_LIMIT_USER_PER_HOUR: '-5' }, 'RATE_LIMIT_USER_PER_HOUR'],
    [{ CORS_ORIGINS: 'https://ok.example, nope' }, 'CORS_ORIGINS'],
    [{ SYNC_INSECURE: 'true', NODE_ENV: 'production' }, 'SYNC_INSECURE'],
  ])('a bad value stops startup naming the variable: %o', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  it('is frozen', () => {
    const c = loadConfig({});
    expect(Object.isFrozen(c)).toBe(true);
  });
});
