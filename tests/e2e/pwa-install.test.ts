// The app as an installable PWA, asked of Chromium itself: the manifest is linked and has what
// installing needs (CDP Page.getInstallabilityErrors), the service worker controls the page
// after a reload, and a new version (a changed copy of the build, served by the same server)
// is offered with "A new version is ready" and is what runs after the user accepts.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_DIR } from '../../server/http/static-app.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ensureClientBuilt, login, openBrowser, startE2EServer, waitForFirstSync, type E2EServer } from './helpers.js';

let srv: E2EServer;
let fixture: Fixture;
let buildDir: string;

beforeAll(async () => {
  await ensureClientBuilt();
  // A copy of the build, so this file can ship "the next version" without touching build/.
  buildDir = await mkdtemp(path.join(os.tmpdir(), 'clinic-e2e-build-'));
  await cp(BUILD_DIR, buildDir, { recursive: true });
  srv = await startE2EServer({
    seed: 'none',
    clientBuildDir: buildDir,
    prepare: async (db) => void (fixture = await createFixture(db.pool, { patients: 3 })),
  });
});
afterAll(async () => {
  await srv?.stop();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

/**
 * The next version: index.html gains a marker, and sw.js precaches it under a new revision
 * (as a real rebuild does). The precompressed siblings go, so the server sends the new files.
 */
async function shipNextVersion(marker: string): Promise<void> {
  const indexPath = path.join(buildDir, 'index.html');
  const html = await readFile(indexPath, 'utf8');
  await writeFile(indexPath, html.replace('<head>', `<head><meta name="app-build" content="${marker}" />`));
  const swPath = path.join(buildDir, 'sw.js');
  const sw = await readFile(swPath, 'utf8');
  const next = sw.replace(/(url:"index\.html",revision:")[0-9a-f]+"/, `$1${marker}"`);
  expect(next).not.toBe(sw);
  await writeFile(swPath, next);
  for (const file of ['index.html', 'sw.js'])
    for (const ext of ['.br', '.gz']) await rm(path.join(buildDir, file + ext), { force: true });
}

describe('installable app', () => {
  it('is installable, controlled by its service worker after a reload, and updates on request', async () => {
    const b = await openBrowser();
    try {
      await login(b.page, srv.url, fixture.users.receptionist.email, TEST_PASSWORD);
      await waitForFirstSync(b.page);
      // The manifest is linked from the page and is the one the build generated.
      const manifestHref = await b.page.locator('link[rel=manifest]').getAttribute('href');
      expect(manifestHref).toBe('/manifest.webmanifest');
      const manifest = await (await fetch(`${srv.url}${manifestHref}`)).json();
      expect(manifest.theme_color).toBe('#0f5c8c');
      expect(manifest.icons.map((i: { sizes: string }) => i.sizes)).toContain('512x512');

      await b.page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
      await b.page.reload();
      expect(await b.page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null)).toBe(
        `${srv.url}/sw.js`,
      );

      // Chromium's own verdict (the same check as its install button).
      const cdp = await b.context.newCDPSession(b.page);
      await expect
        .poll(async () => (await cdp.send('Page.getInstallabilityErrors')).installabilityErrors, { timeout: 20_000 })
        .toEqual([]);
      const { url, errors } = await cdp.send('Page.getAppManifest');
      expect(url).toBe(`${srv.url}/manifest.webmanifest`);
      expect(errors).toEqual([]);

      // Where the browser offers its prompt, the menu has "Install app", which shows that prompt.
      // Sent until the app has the listener that keeps it (on a loaded machine the menu's
      // component may mount after the first one).
      await b.page.locator('.user-menu summary').click();
      const install = b.page.getByRole('button', { name: 'Install app' });
      await expect
        .poll(
          async () => {
            await b.page.evaluate(() => {
              const event = Object.assign(new Event('beforeinstallprompt', { cancelable: true }), {
                prompt: async () => void ((window as unknown as { prompted: boolean }).prompted = true),
                userChoice: Promise.resolve({ outcome: 'dismissed' }),
              });
              window.dispatchEvent(event);
            });
            return install.count();
          },
          { timeout: 30_000 },
        )
        .toBe(1);
      await install.click();
      await expect.poll(() => b.page.evaluate(() => (window as unknown as { prompted?: boolean }).prompted)).toBe(true);

      // A new version on the server: the open app finds it, asks, and runs it after "Reload".
      expect(await b.page.locator('meta[name=app-build]').count()).toBe(0);
      await shipNextVersion('second');
      await b.page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r?.update()));
      const prompt = b.page.getByRole('alert').filter({ hasText: 'A new version is ready' });
      await expect.poll(() => prompt.count(), { timeout: 30_000 }).toBe(1);
      const reloaded = b.page.waitForEvent('load', { timeout: 30_000 });
      await prompt.getByRole('button', { name: 'Reload' }).click();
      await reloaded;
      await expect
        .poll(() => b.page.locator('meta[name=app-build]').getAttribute('content'), { timeout: 30_000 })
        .toBe('second');
      expect(await b.page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
      expect(await prompt.count()).toBe(0);
    } finally {
      await b.close();
    }
  });
});
