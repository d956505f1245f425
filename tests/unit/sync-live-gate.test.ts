// The hold on live shape requests while the outbox sends over HTTP/1.1 (src/lib/sync/live-gate.ts):
// live requests wait, catch-up requests never do, a hold ends on release, on its own after
// HOLD_MAX_MS, and an aborted request stops waiting. Shape requests made offline wait for a
// tab to say the network is back (src/lib/sync/online-fetch.ts), at most MAX_OFFLINE_WAIT_MS.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CONFIRMING_TABLES, gatedFetch, HOLD_MAX_MS, LiveRequestGate } from '../../src/lib/sync/live-gate.js';
import { MAX_OFFLINE_WAIT_MS, NetworkState, onlineFetch } from '../../src/lib/sync/online-fetch.js';

const LIVE = 'http://clinic.test/v1/shape?table=doctors&offset=0_0&handle=h&live=true&cursor=1';
const CATCH_UP = 'http://clinic.test/v1/shape?table=doctors&offset=0_0&handle=h';

/** A fetch that records which URLs went out and answers at once. */
function recordingFetch() {
  const sent: string[] = [];
  const base = (async (input: RequestInfo | URL, init?: RequestInit) => {
    if (init?.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    sent.push(input instanceof Request ? input.url : String(input));
    return new Response('[]', { status: 200 });
  }) as typeof fetch;
  return { sent, base };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => vi.useRealTimers());

describe('live request gate', () => {
  it('lets every request go while nothing is held', async () => {
    const { sent, base } = recordingFetch();
    const fetchShape = gatedFetch(new LiveRequestGate(), base);
    await fetchShape(LIVE);
    await fetchShape(CATCH_UP);
    expect(sent).toEqual([LIVE, CATCH_UP]);
  });

  it('holds live requests until released; catch-up requests go at once', async () => {
    const { sent, base } = recordingFetch();
    const gate = new LiveRequestGate();
    const fetchShape = gatedFetch(gate, base);
    gate.hold();
    const live = fetchShape(LIVE);
    await fetchShape(new URL(CATCH_UP));
    await settle();
    expect(sent).toEqual([CATCH_UP]);
    gate.release();
    await live;
    expect(sent).toEqual([CATCH_UP, LIVE]);
  });

  it('a hold ends by itself after HOLD_MAX_MS, however long it was asked for', async () => {
    vi.useFakeTimers();
    const { sent, base } = recordingFetch();
    const gate = new LiveRequestGate();
    gate.hold(10 * HOLD_MAX_MS);
    const live = gatedFetch(gate, base)(new Request(LIVE));
    await vi.advanceTimersByTimeAsync(HOLD_MAX_MS - 1);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await live;
    expect(sent).toEqual([LIVE]);
    expect(gate.holding).toBe(false);
  });

  it('an aborted live request stops waiting and rejects like a fetch', async () => {
    const { sent, base } = recordingFetch();
    const gate = new LiveRequestGate();
    gate.hold();
    const abort = new AbortController();
    const live = gatedFetch(gate, base)(LIVE, { signal: abort.signal });
    abort.abort();
    await expect(live).rejects.toThrow(/abort/i);
    expect(sent).toEqual([]);
    gate.release();
  });

  it('never holds the shapes whose rows confirm accepted writes', () => {
    expect([...CONFIRMING_TABLES].sort()).toEqual(['appointments', 'patients']);
  });
});

describe('shape requests made offline', () => {
  it('go the moment a tab says the network is back', async () => {
    const { sent, base } = recordingFetch();
    const network = new NetworkState();
    const fetchShape = onlineFetch(network, base);
    await fetchShape(CATCH_UP);
    network.set(false);
    const waiting = fetchShape(LIVE);
    await settle();
    expect(sent).toEqual([CATCH_UP]);
    network.set(true);
    await waiting;
    expect(sent).toEqual([CATCH_UP, LIVE]);
  });

  it('go after MAX_OFFLINE_WAIT_MS if no tab says so (never later than the stream would retry)', async () => {
    vi.useFakeTimers();
    const { sent, base } = recordingFetch();
    const network = new NetworkState();
    network.set(false);
    const waiting = onlineFetch(network, base)(LIVE);
    await vi.advanceTimersByTimeAsync(MAX_OFFLINE_WAIT_MS - 1);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await waiting;
    expect(sent).toEqual([LIVE]);
  });
});
