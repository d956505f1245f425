// The slice of autocannon's API the benchmarks use (the package ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';
  function autocannon(options: Record<string, unknown>, done: (err: unknown, result: unknown) => void): EventEmitter;
  export default autocannon;
}
