/**
 * What every update validator needs: a zod parse that throws its problem as one line (a thrown error in
 * a validator rejects the update, nothing changes), and the checks that the demand runs and the items exist.
 */
import type { DemandState, ItemState } from '../domain/state';
import { findItem, isFinished } from './model';

/** Throws the first zod problem as a one-line reason (a thrown error in a validator rejects the update). */
export function parseOrReject<T>(
  schema: {
    safeParse(
      v: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  input: unknown,
): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new Error(r.error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; '));
}

export function requireRunning(state: DemandState): void {
  if (isFinished(state))
    throw new Error(`demand ${state.demandId} has ended (${state.status}); nothing can change it now`);
}

export function requireItems(
  state: DemandState,
  itemIds: string[],
  check: (i: ItemState) => string | undefined,
): ItemState[] {
  return itemIds.map((id) => {
    const item = findItem(state, id);
    if (!item)
      throw new Error(
        `item "${id}" is not part of demand ${state.demandId} (items: ${state.items.map((i) => i.id).join(', ')})`,
      );
    const problem = check(item);
    if (problem) throw new Error(`item "${id}" ${problem}`);
    return item;
  });
}
