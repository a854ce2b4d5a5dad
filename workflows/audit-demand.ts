/**
 * One workflow per demand (`audit:<demandId>`): sends the request, waits for answers until each
 * item's deadline, reminds, escalates, takes extensions, pauses and reviews, then writes the report.
 * Handlers only change state; this loop does all the I/O, so continue-as-new is always safe.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { refProblems, type AttachmentRef } from '../domain/attachments';
import type { SendEmailInput } from '../domain/contracts';
import { checkDemand } from '../domain/demand';
import { FailureType } from '../domain/errors';
import { INBOUND_MEMO_KEY, inboundProfile } from '../domain/inbound';
import { outgoingMailQuery } from '../domain/messages';
import type { DemandState } from '../domain/state';
import { fireDueActions } from './fire';
import { installHandlers } from './handlers';
import { recordDecision, demandStatus, heldMailFirst, initialState, isFinished, mailDue, queueInternal } from './model';
import { expireGates, nextWake, reconcileGates, startRequests } from './sign-off';
import { mailInput } from './mail-input';
import { Publisher } from './visibility';

/** Starts a demand from its spec, or carries on one that continued-as-new. */
export interface AuditDemandInput {
  spec: unknown;
  startedBy: string;
  carried?: DemandState;
  /** The spec's attachments, stored by the CLI: one reference per `attachments` entry, in order. */
  attachments?: AttachmentRef[];
}

/** How the demand ended. */
export interface AuditDemandResult {
  demandId: string;
  status: DemandState['status'];
  reportPath?: string;
  items: { itemId: string; closure?: string }[];
}

const RETRY = { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m' } as const;
// A send heartbeats while it works (activities/send-lease.ts), so one whose worker died is retried
// 10 s after its last beat instead of at the 2-minute start-to-close timeout. Replay compares only an
// activity's id and type with its scheduled event, so histories scheduled without it replay unchanged.
const SEND = { startToCloseTimeout: '2m', heartbeatTimeout: '10s', retry: RETRY } as const;
const { sendEmail } = proxyActivities<Activities>(SEND);
const { writeReport } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  retry: RETRY,
  summary: 'write the final report',
});

/**
 * `condition(fn, ms)` as the SDK writes it (the same timer, cancelled the same way, so every history
 * replays), and whether its timer fired: also when `fn` came true in the same task as the timer.
 */
async function waitOrTimer(fn: () => boolean, ms: number, summary: string): Promise<boolean> {
  let fired = false;
  await CancellationScope.cancellable(async () => {
    try {
      await Promise.race([sleep(ms, { summary }).then(() => void (fired = true)), condition(fn)]);
    } finally {
      CancellationScope.current().cancel();
    }
  });
  return fired;
}

/**
 * Sends what is queued now, in parallel (failed sends are retried by Temporal until they succeed).
 * Mail queued meanwhile waits for the next turn of the main loop, so continue-as-new is never starved.
 * Since `send-by-reference` each activity gets the demand id and the message's key, and reads the input
 * fixed here from `inFlight` through the outgoingMail query: the same input on every attempt, and on
 * replay, as when the input itself was in history.
 */
async function sendQueued(
  state: DemandState,
  inFlight: Map<string, SendEmailInput>,
  now: () => number = Date.now,
): Promise<void> {
  const batch = mailDue(state, now());
  if (batch.length > 0) {
    const byReference = patched('send-by-reference');
    for (const mail of batch) inFlight.set(mail.key, mailInput(state, mail));
    const results = await Promise.all(
      batch.map((mail) =>
        sendEmail.executeWithOptions(
          {
            ...SEND,
            summary:
              `send ${mail.kind}${mail.context?.index ? ` ${mail.context.index}` : ''} to ${mail.to.address} (${mail.itemIds.join(', ') || 'demand'})`.slice(
                0,
                190,
              ),
          },
          [byReference ? { demandId: state.demandId, key: mail.key } : inFlight.get(mail.key)!],
        ),
      ),
    );
    batch.forEach((mail, i) => {
      inFlight.delete(mail.key);
      const r = results[i]!;
      state.outbox = state.outbox.filter((m) => m.key !== mail.key);
      state.messages.push({
        direction: 'out',
        kind: mail.kind,
        messageId: r.messageId,
        at: mail.at,
        to: [mail.to.address],
        itemIds: mail.itemIds,
        subject: r.subject,
        key: mail.key,
        status: r.status,
        raw: r.raw,
        ...(r.status === 'rejected' ? { detail: r.response } : {}),
      });
      if (mail.kind === 'request' && r.status === 'sent') state.threadRoots[mail.to.address] = r.messageId;
      for (const item of state.items.filter((it) => mail.itemIds.includes(it.id)))
        item.lastMessage = { direction: 'out', kind: mail.kind, at: mail.at };
      if (r.status === 'rejected' && mail.audience === 'counterparty') {
        if (!state.undeliverable.includes(mail.to.address)) state.undeliverable.push(mail.to.address);
        recordDecision(
          state,
          {
            kind: 'undeliverable',
            itemIds: mail.itemIds,
            detail: `${mail.to.address} refused the ${mail.kind}: ${r.response ?? ''}`,
          },
          now(),
        );
        for (const id of mail.itemIds) if (!state.escalateNow.includes(id)) state.escalateNow.push(id);
      }
    });
  }
}

/** The demand workflow. */
export async function auditDemandWorkflow(input: AuditDemandInput): Promise<AuditDemandResult> {
  let state: DemandState;
  if (input.carried) {
    state = input.carried;
    state.runs += 1;
  } else {
    const checked = checkDemand(input.spec);
    if (!checked.ok) {
      throw ApplicationFailure.nonRetryable(
        `invalid demand spec: ${checked.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
        FailureType.InvalidDemand,
      );
    }
    // Only a spec with attachments has references to check and keep: other inputs replay as before.
    const refsWrong = refProblems(checked.spec.attachments ?? [], input.attachments);
    if (refsWrong.length)
      throw ApplicationFailure.nonRetryable(`invalid demand input: ${refsWrong.join('; ')}`, FailureType.InvalidDemand);
    state = initialState(checked.spec, workflowInfo().workflowId, input.startedBy, Date.now());
    if (input.attachments?.length) state.attachments = input.attachments;
  }
  // Counterparty mail waits for its recipient's sending hours (a run that started without it keeps going
  // without it until it continues as new, so its history replays).
  if (!state.sendHours && patched('send-hours')) state.sendHours = true;
  if (!input.carried) startRequests(state, Date.now());
  // The gateway reads who may answer and how replies must authenticate from the memo, without a worker.
  let profile = JSON.stringify(inboundProfile(state.spec));
  upsertMemo({ [INBOUND_MEMO_KEY]: JSON.parse(profile) });
  let version = 0;
  let profiled = 0;
  installHandlers(state, () => {
    version += 1;
    // Keep the queried status current between loop turns (the loop sends mail before it looks again).
    if (!isFinished(state)) state.status = demandStatus(state);
  });
  const publisher = new Publisher();
  // The loop's clock. A timer that fired means its instant has come, whatever Date.now() says: a worker once
  // completed a woken demand's task with the clock of the task before (an SDK core fault when a query
  // replays the demand on another worker, README "Fault drills"), and the loop, finding nothing due, set
  // the same timer again where every replay sends the reminder. Since `timer-fired-is-due` the instant a
  // timer was set for is the floor of the clock (a no-op for every history a worker recorded right).
  let floor = 0;
  const now = () => Math.max(Date.now(), floor);
  const timerFired = (at: number) => {
    if (patched('timer-fired-is-due')) floor = Math.max(floor, at);
  };
  const inFlight = new Map<string, SendEmailInput>();
  setHandler(outgoingMailQuery, (key) => inFlight.get(key) ?? null);

  // dry-run.ts replays this loop for `auditflow plan`; test/workflows/plan-vs-reality.test.ts keeps them in step.
  for (;;) {
    // A correction (a contact or an item added, replaced, removed) changes who may answer: the gateway
    // reads it from the memo, updated before the mail that invites the reply goes out. Only corrections
    // change it, so histories without them issue no new command; only a turn after an update looks.
    if (version !== profiled) {
      profiled = version;
      const corrected = JSON.stringify(inboundProfile(state.spec));
      if (corrected !== profile) {
        profile = corrected;
        upsertMemo({ [INBOUND_MEMO_KEY]: JSON.parse(profile) });
      }
    }
    await sendQueued(state, inFlight, now);
    state.status = demandStatus(state);
    publisher.publish(state, now());
    if (isFinished(state)) break;
    if (workflowInfo().continueAsNewSuggested) {
      // No activity is in flight here; unsent mail travels in the state and goes out in the next run.
      await condition(allHandlersFinished);
      recordDecision(
        state,
        {
          kind: 'continue-as-new',
          itemIds: [],
          detail: `run ${state.runs} ends after ${workflowInfo().historyLength} events`,
        },
        now(),
      );
      log.info('continuing as new', { demandId: state.demandId, historyLength: workflowInfo().historyLength });
      return continueAsNew<typeof auditDemandWorkflow>({
        spec: state.spec,
        startedBy: state.startedBy,
        carried: state,
      });
    }
    const seen = version;
    const wake = () => version !== seen || mailDue(state, now()).length > 0 || state.escalateNow.length > 0;
    // A held message, a sign-off timeout or the next action, whichever is first (older states have no held mail).
    const until = nextWake(state, now());
    if (until) {
      if (await waitOrTimer(wake, Math.max(until.at - now(), 1), until.summary)) timerFired(until.at);
    } else await condition(wake);
    expireGates(state, now());
    reconcileGates(state, now());
    const forced = new Set(state.escalateNow);
    state.escalateNow = [];
    fireDueActions(
      state,
      now(),
      forced,
      () => patched('merge-reminders-at-one-instant'),
      () => patched('distinct-early-step-keys'),
    );
  }

  state.finishedAt = new Date(now()).toISOString();
  // By reference: the state would be copied into history (twice) otherwise.
  const reportInput = () => (patched('report-by-reference') ? { demandId: state.demandId } : { state });
  const report = await writeReport(reportInput());
  state.report = { path: report.path, at: state.finishedAt };
  queueInternal(
    state,
    ['owner'],
    'final',
    state.items.map((i) => i.id),
    { event: 'final', outcome: state.status, report: report.path },
    now(),
  );
  while (state.outbox.length > 0) {
    // What waits for its recipient's sending hours (a withdrawal at night) still goes, at that hour.
    const heldAt = heldMailFirst(state, now());
    if (heldAt !== undefined && mailDue(state, now()).length === 0) {
      await sleep(Math.max(heldAt - now(), 1));
      timerFired(heldAt);
    }
    await sendQueued(state, inFlight, now);
  }
  await writeReport(reportInput());
  publisher.publish(state, now());
  await condition(allHandlersFinished);
  return {
    demandId: state.demandId,
    status: state.status,
    reportPath: report.path,
    items: state.items.map((i) => ({ itemId: i.id, ...(i.closure ? { closure: i.closure } : {}) })),
  };
}
