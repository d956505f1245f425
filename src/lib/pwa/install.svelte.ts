// Installing the app: Chromium-based browsers offer `beforeinstallprompt`, which the app keeps
// to show its own "Install app" action; Safari on iOS has no prompt, so the app tells the user
// where the browser's own action is (Share → Add to Home Screen).

/** The part of Chromium's BeforeInstallPromptEvent the app uses (not in the DOM typings). */
interface InstallPromptEvent extends Event {
  prompt(): Promise<unknown>;
  userChoice?: Promise<{ outcome: 'accepted' | 'dismissed' }>;
}

export type InstallHint = 'ios' | 'browser-menu';

class InstallState {
  /** The browser's deferred prompt: there is an in-app "Install app" action while it is set. */
  prompt = $state<InstallPromptEvent | null>(null);
  /** Running as an installed app (standalone window): nothing to offer. */
  installed = $state(false);
  /** Where the user installs from when the browser gives the app no prompt. */
  hint = $state<InstallHint>('browser-menu');
  #started = false;

  start(): void {
    if (this.#started || typeof window === 'undefined') return;
    this.#started = true;
    const nav = navigator as Navigator & { standalone?: boolean };
    this.installed = window.matchMedia?.('(display-mode: standalone)').matches || nav.standalone === true;
    // iPadOS reports itself as a Mac; a Mac with touch points is an iPad.
    const ios = /iPad|iPhone|iPod/.test(nav.userAgent) || (nav.platform === 'MacIntel' && nav.maxTouchPoints > 1);
    this.hint = ios ? 'ios' : 'browser-menu';
    window.addEventListener('beforeinstallprompt', (event) => {
      event.preventDefault(); // keep it for the app's own action instead of the browser's mini-bar
      this.prompt = event as InstallPromptEvent;
    });
    window.addEventListener('appinstalled', () => {
      this.installed = true;
      this.prompt = null;
    });
  }

  async install(): Promise<void> {
    const prompt = this.prompt;
    if (!prompt) return;
    // A prompt can be shown once; the browser fires a new event if the user may try again.
    this.prompt = null;
    await prompt.prompt();
    const choice = await prompt.userChoice;
    if (choice?.outcome === 'accepted') this.installed = true;
  }
}

export const installer = new InstallState();
