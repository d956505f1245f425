// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
  namespace App {}
  /** package.json version, set at build time (vite.config.ts). */
  const __APP_VERSION__: string;
  /** URL of the data directory a device's first database is created from (vite.config.ts); null in development. */
  const __PREBUILT_DATA_DIR__: string | null;
}
export {};
