// Debian's Chromium as the browser tests and benchmarks drive it (playwright-core, no browser
// download). The flags keep a headless run to itself: without them Chromium keeps trying to
// reach the internet (QUIC, component updates, sync, background fetches), which a sandboxed
// machine answers with timeouts.
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
