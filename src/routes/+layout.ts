// A static SPA: no server-side rendering, no prerendered pages beyond the fallback.
import { openRememberedDb } from '$lib/session/session.svelte';

export const ssr = false;
export const prerender = false;

// Runs before the first render: the remembered user's database starts opening (most of a cold
// start) while the layout and the page are still being rendered and the session is checked.
export function load(): void {
  openRememberedDb();
}
