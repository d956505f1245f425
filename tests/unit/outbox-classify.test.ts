// Answer classification and backoff of the outbox sender.
import { describe, expect, it } from 'vitest';
import { backoffDelay, classify, parseRetryAfter } from '../../src/lib/outbox/classify.js';

describe('classify', () => {
  it.each([
    [200, 'accepted'],
    [201, 'accepted'],
    [204, 'accepted'],
    [400, 'rejected'],
    [403, 'rejected'],
    [404, 'rejected'],
    [409, 'rejected'],
    [422, 'rejected'],
    [401, 'auth'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [null, 'retry'],
  ] as const)('%s -> %s', (status, verdict) => {
    expect(classify(status)).toBe(verdict);
  });

  it.each([
    [503, 'wait'],
    [429, 'wait'],
    [500, 'retry'],
    [502, 'retry'],
    [409, 'rejected'],
  ] as const)('%s with Retry-After -> %s', (status, verdict) => {
    expect(classify(status, true)).toBe(verdict);
  });
});

describe('backoff', () => {
  const policy = { baseMs: 1_000, capMs: 30_000 };

  it('grows exponentially within [window/2, window] and stops at the cap', () => {
    for (const [attempt, window] of [
      [1, 1_000],
      [2, 2_000],
      [3, 4_000],
      [5, 16_000],
      [6, 30_000],
      [20, 30_000],
    ] as const) {
      expect(backoffDelay(attempt, null, policy, () => 0)).toBe(window / 2);
      expect(backoffDelay(attempt, null, policy, () => 0.999999)).toBeLessThanOrEqual(window);
      expect(backoffDelay(attempt, null, policy, () => 0.999999)).toBeGreaterThan(window * 0.99);
    }
  });

  it('spreads devices: different random draws give different delays', () => {
    const delays = new Set([0.1, 0.4, 0.7, 0.9].map((r) => backoffDelay(4, null, policy, () => r)));
    expect(delays.size).toBe(4);
  });

  it('never retries sooner than Retry-After, even beyond the cap', () => {
    expect(backoffDelay(1, 5_000, policy, () => 0.5)).toBe(5_000);
    expect(backoffDelay(1, 120_000, policy, () => 0.5)).toBe(120_000);
    expect(backoffDelay(6, 1_000, policy, () => 0)).toBe(15_000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-29T10:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7_000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
