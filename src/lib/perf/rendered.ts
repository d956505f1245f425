// Rendered-update timing of the list screens, in the page's own performance timeline: a mark
// at the user's action (a pager click, a filter change, a keystroke) and, once the rows that
// answer that action are in the DOM and a frame showing them has been painted, a
// `performance.measure` named after the action. Always on: a mark costs microseconds. The client
// benchmark reads the measures (`performance.getEntriesByName(name, 'measure')`); DevTools'
// performance panel shows them too.

/** Measures of one name kept at most (a long session must not grow the timeline forever). */
const MAX_MEASURES = 1_000;

let sequence = 0;

export interface RenderTimer {
  /**
   * The user acted: a measure named `name` starts at `at` (the event's `timeStamp`, so the
   * input's own delay counts) or now. An unfinished earlier one is dropped.
   */
  start(name: string, at?: number): void;
  /** The screen's query changed (call from an effect on it): the pending action is answered by it. */
  queried(query: object | null): void;
  /**
   * The rows of `query` are in the DOM (call from an effect that runs after they are rendered):
   * the pending measure ends at the next painted frame if `query` is the one its action caused.
   */
  shown(query: object | null): void;
}

/**
 * Runs `done` once the frame that shows the current DOM has been painted. A
 * `requestAnimationFrame` callback runs just before the browser's style, layout and paint of
 * the next frame; a message posted from it is handled as the next task, after that frame's
 * rendering update. Two rAFs would add a whole frame (16.7 ms) to every measure, and a
 * `setTimeout(0)` may be clamped or throttled; a `MessageChannel` task is neither.
 */
function afterNextPaint(done: () => void): void {
  requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      done();
    };
    channel.port2.postMessage(null);
  });
}

/**
 * One timer per screen. An action is paired with the query its state change produced (the
 * first query seen after `start`), and only the answer to that query ends it: rows of an
 * earlier action arriving late never end a newer measure, and an action superseded before its
 * rows were shown (fast typing) is dropped, not measured.
 */
export function renderTimer(): RenderTimer {
  let pending: { name: string; startMark: string; query: object | null | undefined } | null = null;
  const drop = () => {
    if (pending) performance.clearMarks(pending.startMark);
    pending = null;
  };
  return {
    start(name, at) {
      drop();
      const startMark = `${name}:start#${++sequence}`;
      performance.mark(startMark, at === undefined ? undefined : { startTime: at });
      pending = { name, startMark, query: undefined };
    },
    queried(query) {
      if (pending && pending.query === undefined) pending.query = query;
    },
    shown(query) {
      if (!pending || pending.query === undefined || pending.query !== query) return;
      const { name, startMark } = pending;
      pending = null;
      afterNextPaint(() => {
        const endMark = startMark.replace(':start#', ':end#');
        performance.mark(endMark);
        if (performance.getEntriesByName(name, 'measure').length >= MAX_MEASURES) performance.clearMeasures(name);
        performance.measure(name, startMark, endMark);
        performance.clearMarks(startMark);
        performance.clearMarks(endMark);
      });
    },
  };
}
