// Vite plugin: builds the data directory a device's first database is created from
// (src/lib/db/data-dir-tar.ts, with the same PGlite and local migrations as the app), and ships
// it with a production build as an immutable, content-named asset. The app learns its URL from
// __PREBUILT_DATA_DIR__ (null in development, where the browser builds it instead).
//
// Not precached by the service worker (vite.config.ts globIgnores): only a device's first
// login needs it, and that is online; installing the app should not download it again.
import { createHash } from 'node:crypto';
import type { Plugin } from 'vite';
import { buildDataDirTar } from './src/lib/db/data-dir-tar';

export const PREBUILT_DATA_DIR_PREFIX = 'clinic-data-dir';

export function prebuiltDataDir(): Plugin {
  let asset: { fileName: string; source: Uint8Array } | undefined;
  return {
    name: 'clinic:prebuilt-data-dir',
    async config(_config, { command }) {
      if (command !== 'build') return { define: { __PREBUILT_DATA_DIR__: 'null' } };
      const source = new Uint8Array(await (await buildDataDirTar('gzip')).arrayBuffer());
      const hash = createHash('sha256').update(source).digest('hex').slice(0, 12);
      asset = { fileName: `_app/immutable/assets/${PREBUILT_DATA_DIR_PREFIX}.${hash}.tar.gz`, source };
      return { define: { __PREBUILT_DATA_DIR__: JSON.stringify(`/${asset.fileName}`) } };
    },
    generateBundle() {
      // Into the browser's build only (SvelteKit also builds for the server).
      if (asset && this.environment.config.consumer === 'client') this.emitFile({ type: 'asset', ...asset });
    },
  };
}
