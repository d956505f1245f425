import { sveltekit } from '@sveltejs/kit/vite';
import { SvelteKitPWA } from '@vite-pwa/sveltekit';
import { readFileSync } from 'node:fs';
import { defineConfig } from 'vite';
import { prebuiltDataDir, PREBUILT_DATA_DIR_PREFIX } from './vite.prebuilt-data-dir';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  plugins: [
    prebuiltDataDir(),
    sveltekit(),
    SvelteKitPWA({
      // The app asks before activating a new version (src/lib/pwa); nothing is injected.
      registerType: 'prompt',
      injectRegister: false,
      strategies: 'generateSW',
      kit: { adapterFallback: 'index.html', spa: true },
      manifest: {
        name: 'Clinic appointments',
        short_name: 'Clinic',
        description: 'Schedules, appointments and patients of the clinic, online and offline.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        theme_color: '#0f5c8c',
        background_color: '#f5f7fa',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        // PGlite's .wasm and .data must be precached, or the database cannot open offline.
        globPatterns: ['client/**/*.{js,css,html,ico,png,svg,webp,webmanifest,wasm,data,gz}'],
        // Only a first login (online) needs it: vite.prebuilt-data-dir.ts.
        globIgnores: [`**/${PREBUILT_DATA_DIR_PREFIX}.*`],
        maximumFileSizeToCacheInBytes: 20 * 1024 * 1024,
        navigateFallback: '/index.html',
        // Never answer the shape stream or the API from a cache.
        navigateFallbackDenylist: [/^\/api\//, /^\/v1\//],
        cleanupOutdatedCaches: true,
        runtimeCaching: [],
      },
    }),
  ],
  define: {
    // Vite 8 would turn PGlite's guarded `globalThis.process?.env` into `{}` inside the worker.
    'globalThis.process.env': 'globalThis.process?.env',
    __APP_VERSION__: JSON.stringify(version),
  },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['@electric-sql/pglite'] },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:3000',
      '/v1': 'http://127.0.0.1:3000',
      '/app-config.json': 'http://127.0.0.1:3000',
    },
  },
});
