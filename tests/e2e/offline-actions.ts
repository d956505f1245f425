// The offline actions of the e2e tests, done in the browser as a user would: booking through
// the form, one-tap status changes and moves on an appointment's page, with the final state
// each action must leave recorded as it goes.
import type { Page } from 'playwright-core';
import { clientNavigate, localQuery } from './helpers.js';

/** The one-tap buttons of the detail page and the status each one leads to. */
export const TAPS = {
  Confirm: 'confirmed',
  'Check in': 'checked_in',
  Start: 'in_progress',
  Complete: 'completed',
  Cancel: 'cancelled',
  'No-show': 'no_show',
} as const;
type Tap = keyof typeof TAPS;
/** A tap, or a move to another free slot (its ISO start, UTC; the clinic runs on UTC in tests). */
export type Step = Tap | { moveTo: string };

export const mrn = (patient: number) => `TST${String(patient + 1).padStart(5, '0')}`;

/** Books through the form (reached by a client-side link), the patient found by MRN. */
export async function bookViaForm(page: Page, doctorId: string, patient: number, startsAt: string): Promise<string> {
  await clientNavigate(page, `/appointments/new?date=${startsAt.slice(0, 10)}&doctor=${doctorId}`);
  await page.getByPlaceholder('name, MRN or phone').fill(mrn(patient));
  await page.getByRole('radio', { name: mrn(patient) }).check();
  await page.locator(`[data-testid=free-slots] button[data-start="${startsAt}"]`).click();
  await page.waitForURL(/\/appointments\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop()!;
}

/** The action bar of one appointment (the detail page keeps its component across ids). */
export function actionBar(page: Page, id: string, status?: string) {
  return page.locator(`[data-testid=appointment-actions][data-id="${id}"]${status ? `[data-status=${status}]` : ''}`);
}

/** Runs the steps on one appointment's page; returns the id the last step left (a move makes a new row). */
export async function runSteps(page: Page, id: string, steps: Step[]): Promise<string> {
  if (!page.url().endsWith(`/appointments/${id}`)) await clientNavigate(page, `/appointments/${id}`);
  for (const step of steps) {
    // A final status has no buttons left: the (empty) bar is attached, not visible.
    await actionBar(page, id).waitFor({ state: 'attached' });
    if (typeof step === 'string') {
      await actionBar(page, id).getByRole('button', { name: step, exact: true }).click();
      if (step === 'Cancel') {
        // Cancel asks for a reason and a confirmation.
        const dialog = page.getByTestId('cancel-dialog');
        await dialog.getByRole('radio', { name: 'Patient request' }).check();
        await dialog.getByRole('button', { name: 'Cancel the appointment' }).click();
      }
      await actionBar(page, id, TAPS[step]).waitFor({ state: 'attached' });
      continue;
    }
    await actionBar(page, id).getByRole('button', { name: 'Reschedule', exact: true }).click();
    await page.locator('input[type=date]').fill(step.moveTo.slice(0, 10));
    await page.getByRole('button', { name: step.moveTo.slice(11, 16), exact: true }).click();
    // The app opens the new appointment after a move: find it by its link to the old one.
    const moved = await movedTo(page, id);
    id = moved;
    if (!page.url().endsWith(`/appointments/${id}`)) await clientNavigate(page, `/appointments/${id}`);
    await actionBar(page, id).waitFor({ state: 'attached' });
  }
  return id;
}

/** The row a move of `id` made (the local copy has it at once, offline too), waited for up to 30 s. */
async function movedTo(page: Page, id: string): Promise<string> {
  const until = Date.now() + 30_000;
  for (;;) {
    const [row] = await localQuery<{ id: string }>(
      page,
      `SELECT a.id FROM appointments a JOIN appointments old ON old.id = a.rescheduled_from
        WHERE a.rescheduled_from = $1 AND old.status = 'rescheduled'`,
      [id],
    );
    if (row) return row.id;
    if (Date.now() > until) throw new Error(`no row rescheduled from ${id} after 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Expected {
  status: string;
  starts_at: string;
}

/** What the rows must look like in the end, kept up to date as the test acts. */
export class Expectations {
  readonly rows = new Map<string, Expected>();

  set(id: string, status: string, startsAt: string): void {
    this.rows.set(id, { status, starts_at: startsAt.slice(0, 16) });
  }

  /** Runs the steps in the browser and records their outcome. */
  async run(page: Page, id: string, steps: Step[]): Promise<void> {
    let current = id;
    for (const step of steps) {
      const next = await runSteps(page, current, [step]);
      const before = this.rows.get(current)!;
      if (typeof step === 'string') this.set(current, TAPS[step], before.starts_at);
      else {
        this.set(current, 'rescheduled', before.starts_at);
        this.set(next, 'scheduled', step.moveTo);
      }
      current = next;
    }
  }

  sorted(): Array<{ id: string } & Expected> {
    return [...this.rows].map(([id, row]) => ({ id, ...row })).sort((a, b) => a.id.localeCompare(b.id));
  }
}
