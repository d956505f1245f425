// Free slots as a live query: a slot booked on another device (arriving by sync) or in
// another tab disappears from every open booking form or reschedule picker at once.
import { liveRows } from './live.svelte';
import { slotInputsQuery, slotsFromInputs, type Slot, type SlotInputRow, type SlotRequest } from './queries/slots';

export interface LiveSlots {
  readonly slots: Slot[];
  readonly loading: boolean;
}

/** Call during component setup; `request` is re-read when its reactive inputs change. */
export function liveFreeSlots(request: () => SlotRequest | null): LiveSlots {
  const current = $derived(request());
  const inputs = liveRows<SlotInputRow>(() => (current ? slotInputsQuery(current) : null));
  const slots = $derived(current && !inputs.loading ? slotsFromInputs(inputs.rows, current) : []);
  return {
    get slots() {
      return slots;
    },
    get loading() {
      return inputs.loading;
    },
  };
}
