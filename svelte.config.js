import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
  preprocess: vitePreprocess(),
  kit: {
    // A static SPA served by the Express server; every client route falls back to index.html.
    // precompress writes .br/.gz next to every asset: PGlite's WASM and data are most of
    // the first load, and the server sends the compressed file as is.
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', precompress: true }),
    // The service worker is registered by workbox-window (see src/lib/pwa), not by SvelteKit.
    serviceWorker: { register: false },
  },
};
