// Registers the Workbox service worker and tells the user when a new version is waiting.
// "Reload" activates it (skipWaiting) and reloads once it controls the page; the local
// database is untouched, and its migrations run when the new version opens it.
import { Workbox } from 'workbox-window';

class PwaState {
  updateReady = $state(false);
  registered = $state(false);
  #wb: Workbox | null = null;

  register(): void {
    if (this.#wb || !('serviceWorker' in navigator) || import.meta.env.DEV) return;
    const wb = new Workbox('/sw.js', { scope: '/' });
    wb.addEventListener('waiting', () => (this.updateReady = true));
    wb.addEventListener('controlling', (event) => {
      if (event.isUpdate) location.reload();
    });
    void wb.register().then(() => (this.registered = true));
    this.#wb = wb;
    // Look for a new version now and then while the app stays open.
    setInterval(() => void wb.update(), 60 * 60_000);
  }

  applyUpdate(): void {
    this.#wb?.messageSkipWaiting();
  }
}

export const pwa = new PwaState();
