// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
  namespace App {}
  /** package.json version, set at build time (vite.config.ts). */
  const __APP_VERSION__: string;
}
export {};
