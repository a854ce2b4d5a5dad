/**
 * The demand's future if nobody answers, for `auditflow plan`: the workflow's own pure transitions
 * (model.ts, fire.ts) run turn by turn on a virtual clock, exactly as the main loop in audit-demand.ts
 * runs them, so the plan shows the very mail the workflow would send. Nobody signs anything off either: a
 * step that waits for sign-off goes as its timeout says (sent then, or held for good). No Temporal APIs:
 * the CLI imports it.
 */
import type { DemandSpec } from '../domain/demand';
import type { DemandState, PendingMail } from '../domain/state';
import { fireDueActions } from './fire';
import { demandStatus, initialState, isFinished, mailDue, queueInternal } from './model';
import { expireGates, nextWake, reconcileGates, startRequests } from './sign-off';

/** The spec, the workflow id and the instant the workflow would start (its first `Date.now()`). */
export interface DryRunInput {
  spec: DemandSpec;
  workflowId: string;
  startAt: number;
  /** Called with the state as it is when each message is sent (for `plan --show`, which renders them). */
  onSend?: (state: DemandState, mail: PendingMail) => void;
}

/** Every message in the order it would be queued (`at` is the workflow time), and the state at the end. */
export interface DryRunResult {
  mails: PendingMail[];
  state: DemandState;
  /** False when the demand would wait for an answer forever with nothing left to send. */
  finished: boolean;
}

// A schedule has at most 23 actions per item (10 reminders, due, overdue, overdue notice, 10 steps); this only stops a bug from looping forever.
const MAX_TURNS = 100_000;

/** Runs the demand with nobody answering, every send succeeding, until it ends. */
export function dryRunUnanswered(input: DryRunInput): DryRunResult {
  const { spec, workflowId, startAt } = input;
  const state = initialState(spec, workflowId, 'auditflow plan', startAt);
  const mails: PendingMail[] = [];
  state.sendHours = true;
  let now = startAt;
  const sendQueued = (all = false) => {
    const due = all ? state.outbox : mailDue(state, now);
    for (const mail of due) {
      input.onSend?.(state, mail);
      mails.push(mail);
      state.messages.push({
        direction: 'out',
        kind: mail.kind,
        at: mail.at,
        to: [mail.to.address],
        itemIds: mail.itemIds,
        key: mail.key,
        status: 'sent',
      });
    }
    state.outbox = state.outbox.filter((m) => !due.includes(m));
  };
  startRequests(state, now);
  for (let turn = 0; ; turn++) {
    sendQueued();
    state.status = demandStatus(state);
    if (isFinished(state)) break;
    const at = nextWake(state, now)?.at;
    if (at === undefined || turn >= MAX_TURNS) return { mails, state, finished: false };
    // The workflow's timer: max(next - now, 1) ms, and it wakes with the clock at that instant.
    now += Math.max(at - now, 1);
    expireGates(state, now);
    reconcileGates(state, now);
    fireDueActions(state, now);
  }
  state.finishedAt = new Date(now).toISOString();
  queueInternal(
    state,
    ['owner'],
    'final',
    state.items.map((i) => i.id),
    { event: 'final', outcome: state.status },
    now,
  );
  sendQueued(true);
  return { mails, state, finished: true };
}
