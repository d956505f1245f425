// Who is signed in on this device. The last user is remembered (id, name, role: no patient
// data) so the installed app can open their local database with no network at all. An
// expired session keeps the local data and asks for a new login; logging out, or a
// different user logging in, deletes the previous user's local database first.
import type { SessionUser } from '../shared/roles';
import { api, ApiError, OfflineError } from '../api/client';
import { closeLocalDb, destroyLocalDb, dbKeyFor, openLocalDb, prepareFirstDatabase } from '../db/client';
import { syncChannelName, type SyncMessage } from '../sync/status';

const USER_KEY = 'clinic.user';
const CONFIG_KEY = 'clinic.config';
const SESSION_CHANNEL = 'clinic-session';

export interface ClinicConfig {
  clinic_timezone: string;
  /** minutes before the start that check-in opens (server's CHECK_IN_EARLY_MINUTES) */
  check_in_early_minutes?: number;
  app_version: string;
}

function readJson<T>(key: string): T | null {
  try {
    return JSON.parse(localStorage.getItem(key) ?? 'null') as T | null;
  } catch {
    return null;
  }
}

/**
 * Starts opening the remembered user's database, if any (idempotent). Called before the app
 * renders, so the worker's start overlaps loading and hydrating the page.
 */
export function openRememberedDb(): void {
  const stored = readJson<SessionUser>(USER_KEY);
  if (stored?.id) void openLocalDb(stored.id).catch(() => undefined);
}

/**
 * On the login page: with nobody remembered on this device there is no local database yet, so
 * the first one is prepared while the user types (client.ts prepareFirstDatabase).
 */
export function prepareDatabaseForLogin(): void {
  if (!readJson<SessionUser>(USER_KEY)) prepareFirstDatabase();
}

class Session {
  user = $state<SessionUser | null>(null);
  /** The server no longer knows our session: local data stays, a new login resumes sync. */
  expired = $state(false);
  ready = $state(false);
  config = $state<ClinicConfig>({ clinic_timezone: 'UTC', app_version: 'dev' });
  #channel: BroadcastChannel | null = null;

  async init(): Promise<void> {
    this.#listen();
    const stored = readJson<SessionUser>(USER_KEY);
    this.config = readJson<ClinicConfig>(CONFIG_KEY) ?? this.config;
    // Opening the database (WebAssembly, storage, boot: most of a cold start) does not wait for
    // the session check: the remembered user's database is opened whatever the server says,
    // except for another user's login, which deletes it below. (+layout.ts started it already.)
    openRememberedDb();
    try {
      // 200 {user: null} when nobody is signed in: no 401 in the console on every first load.
      const { user } = await api<{ user: SessionUser | null }>('GET', '/api/auth/session');
      if (user) {
        if (stored && stored.id !== user.id) await destroyLocalDb(stored.id);
        this.#remember(user);
        void this.#loadConfig();
      } else if (stored) {
        this.user = stored;
        this.expired = true;
      } else this.user = null;
    } catch (err) {
      if (err instanceof OfflineError) this.user = stored;
      else if (err instanceof ApiError && err.status === 401 && stored) {
        this.user = stored;
        this.expired = true;
      } else this.user = null;
    }
    // Opened early for nobody after all (e.g. the server failed and nothing is remembered as usable).
    if (stored && this.user?.id !== stored.id) await closeLocalDb();
    this.ready = true;
  }

  async login(email: string, password: string): Promise<SessionUser> {
    const { user } = await api<{ user: SessionUser }>('POST', '/api/auth/login', { email, password });
    const previous = readJson<SessionUser>(USER_KEY);
    if (previous && previous.id !== user.id) await destroyLocalDb(previous.id);
    this.#remember(user);
    this.expired = false;
    // The database starts opening now, not once the next screen renders.
    openRememberedDb();
    await this.#loadConfig();
    // Wake the sync of an already open database (after an expired session it had stopped).
    const sync = new BroadcastChannel(syncChannelName(dbKeyFor(user.id)));
    sync.postMessage({ type: 'resume' } satisfies SyncMessage);
    sync.close();
    return user;
  }

  /** Ends the session and leaves no local data behind, in this tab and every other one. */
  async logout(): Promise<void> {
    const user = this.user;
    await api('POST', '/api/auth/logout').catch(() => undefined);
    this.#channel?.postMessage({ type: 'logout' });
    if (user) await destroyLocalDb(user.id);
    localStorage.removeItem(USER_KEY);
    localStorage.removeItem('electric_expired_shapes');
    this.user = null;
    location.assign('/login');
  }

  #remember(user: SessionUser): void {
    this.user = user;
    localStorage.setItem(USER_KEY, JSON.stringify(user));
  }

  async #loadConfig(): Promise<void> {
    try {
      const res = await fetch('/app-config.json', { cache: 'no-store' });
      if (!res.ok) return;
      this.config = (await res.json()) as ClinicConfig;
      localStorage.setItem(CONFIG_KEY, JSON.stringify(this.config));
    } catch {
      /* offline: keep the stored one */
    }
  }

  #listen(): void {
    if (this.#channel) return;
    this.#channel = new BroadcastChannel(SESSION_CHANNEL);
    this.#channel.onmessage = (event: MessageEvent<{ type: string }>) => {
      if (event.data.type !== 'logout') return;
      // Another tab logged out: drop our handle on the database and leave.
      void closeLocalDb().then(() => location.assign('/login'));
    };
  }
}

export const session = new Session();
