import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
  preprocess: vitePreprocess(),
  kit: {
    // A static SPA served by the Express server; every client route falls back to index.html.
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', precompress: false }),
    // The service worker is registered by workbox-window (see src/lib/pwa), not by SvelteKit.
    serviceWorker: { register: false },
  },
};
