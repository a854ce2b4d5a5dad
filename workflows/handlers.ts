/**
 * The demand's message handlers. Update validators are synchronous and reject bad input with a reason
 * (nothing changes); handlers only change state and queue mail, the main loop does all I/O.
 */
import { patched, setHandler } from '@temporalio/workflow';
import { applyOffset } from '../domain/schedule';
import {
  ApproveStepInput,
  DecideExtensionInput,
  HoldStepInput,
  approveStepUpdate,
  holdStepUpdate,
  ExtendDeadlineInput,
  InboundReply,
  PauseInput,
  RecordResponseInput,
  ResumeInput,
  ReviewInput,
  WithdrawInput,
  decideExtensionUpdate,
  extendDeadlineUpdate,
  pauseUpdate,
  recordReplyUpdate,
  recordResponseUpdate,
  replyReceivedSignal,
  resumeUpdate,
  reviewUpdate,
  statusQuery,
  withdrawUpdate,
  type UpdateResult,
} from '../domain/messages';
import type { DemandState, DemandStatusView, ItemState } from '../domain/state';
import { formatLocal, formatUtc, parseDeadline, parseDuration, isoInstant } from '../domain/time';
import { describeAction, isAwaiting, isOpen, nextActionGroup } from './model';
import { denyExtension, extend, pause, recordResponse, resume, review, withdraw } from './operations';
import { addProblem, recordReply, replyRefusal } from './replies';
import { approverFor, gatesFor, holdGate, releaseGate } from './sign-off';
import { parseOrReject, requireItems, requireRunning } from './validate';
import { CORRECTIONS } from './corrections';

/** Resolves a new deadline for an item from `newDeadline` or `by`, and checks it moves later and is in the future. */
export function resolveNewDeadline(
  state: DemandState,
  item: ItemState,
  input: { newDeadline?: string; by?: string },
  now: number,
): number {
  let target: number;
  if (input.newDeadline !== undefined) {
    const parsed = parseDeadline(input.newDeadline, state.spec.counterparty.timezone);
    if ('error' in parsed) throw new Error(`newDeadline: ${parsed.error}`);
    target = parsed.ms;
  } else {
    if (!parseDuration(input.by ?? '')) throw new Error(`by: "${input.by}" is not an ISO 8601 duration such as P7D`);
    target = applyOffset(Date.parse(item.dueAt), input.by!, state.spec, 1);
  }
  const zone = state.spec.counterparty.timezone;
  const shown = `${formatLocal(target, zone)} (${formatUtc(target)})`;
  if (target <= Date.parse(item.dueAt))
    throw new Error(
      `the new deadline ${shown} is not later than the current one (${formatLocal(Date.parse(item.dueAt), zone)}) for item "${item.id}"`,
    );
  if (target <= now) throw new Error(`the new deadline ${shown} is in the past`);
  return target;
}

const notAwaiting = (i: ItemState) =>
  isAwaiting(i)
    ? undefined
    : `is ${i.phase === 'closed' ? `closed (${i.closure})` : i.phase}; only items still waiting for an answer can get a new deadline`;

/** Installs every handler; `changed` wakes the main loop. */
export function installHandlers(state: DemandState, changed: () => void): void {
  setHandler(statusQuery, (): DemandStatusView => {
    const next = nextActionGroup(state);
    return {
      ...state,
      now: isoInstant(Date.now()),
      ...(next
        ? {
            nextAction: {
              at: isoInstant(next.action.at),
              kind: next.action.kind,
              itemIds: next.itemIds,
              description: describeAction(next.action, next.itemIds),
            },
          }
        : {}),
    };
  });

  setHandler(replyReceivedSignal, (payload: unknown) => {
    const parsed = InboundReply.safeParse(payload);
    if (!parsed.success) {
      addProblem(state, {
        at: isoInstant(Date.now()),
        source: 'replyReceived signal',
        message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      });
    } else if (patched('bounded-replies')) {
      // A signal cannot be refused: what the update would refuse is kept as a problem, never recorded.
      const refusal = replyRefusal(state, parsed.data);
      if (refusal)
        addProblem(state, {
          at: isoInstant(Date.now()),
          source: `reply ${parsed.data.messageId.slice(0, 250)}`,
          message: `not recorded: ${refusal}`,
        });
      else recordReply(state, parsed.data, Date.now(), true);
    } else {
      recordReply(state, parsed.data, Date.now(), false);
    }
    changed();
  });

  setHandler(
    recordReplyUpdate,
    (payload) => {
      const result = recordReply(state, InboundReply.parse(payload), Date.now(), true);
      changed();
      return result;
    },
    {
      validator: (payload: unknown) => {
        const refusal = replyRefusal(state, parseOrReject(InboundReply, payload));
        if (refusal) throw new Error(refusal);
      },
    },
  );

  const update = <I>(
    def: Parameters<typeof setHandler>[0],
    validate: (input: unknown) => I,
    apply: (input: I) => UpdateResult,
  ) => {
    setHandler(
      def as typeof extendDeadlineUpdate,
      (input: unknown) => {
        const result = apply(validate(input));
        changed();
        return result;
      },
      { validator: (input: unknown) => void validate(input) },
    );
  };

  update(
    extendDeadlineUpdate,
    (raw) => {
      requireRunning(state);
      const input = parseOrReject(ExtendDeadlineInput, raw);
      const ids = input.itemIds ?? state.items.filter(isAwaiting).map((i) => i.id);
      if (ids.length === 0) throw new Error('no item is waiting for an answer, so there is no deadline to extend');
      const targets = requireItems(state, ids, notAwaiting).map((item) => ({
        item,
        dueAt: resolveNewDeadline(state, item, input, Date.now()),
      }));
      if (
        input.requestId !== undefined &&
        !state.extensionRequests.some((r) => r.id === input.requestId && r.status === 'pending')
      ) {
        throw new Error(`there is no pending extension request "${input.requestId}"`);
      }
      return { input, targets };
    },
    ({ input, targets }) =>
      extend(state, targets, { reason: input.reason, by: input.approvedBy, requestId: input.requestId }, Date.now()),
  );

  update(
    decideExtensionUpdate,
    (raw) => {
      requireRunning(state);
      const input = parseOrReject(DecideExtensionInput, raw);
      const request = state.extensionRequests.find((r) => r.id === input.requestId);
      if (!request)
        throw new Error(
          `there is no extension request "${input.requestId}" (see the extensionRequests in: auditflow show ${state.demandId})`,
        );
      if (request.status !== 'pending')
        throw new Error(`extension request "${input.requestId}" was already ${request.status}`);
      if (!input.approve) return { input, request, targets: [] };
      const ids = request.itemIds.length ? request.itemIds : state.items.filter(isAwaiting).map((i) => i.id);
      const given = input.newDeadline !== undefined || input.by !== undefined;
      const wanted = given ? input : request.requestedDeadline ? { newDeadline: request.requestedDeadline } : undefined;
      if (!wanted) throw new Error('the request names no date: give newDeadline or by');
      const targets = requireItems(state, ids, notAwaiting).map((item) => ({
        item,
        dueAt: resolveNewDeadline(state, item, wanted, Date.now()),
      }));
      return { input, request, targets };
    },
    ({ input, request, targets }) =>
      input.approve
        ? extend(state, targets, { reason: input.reason, by: input.decidedBy, requestId: request.id }, Date.now())
        : denyExtension(state, request, input.reason, input.decidedBy, Date.now()),
  );

  update(
    pauseUpdate,
    (raw) => {
      requireRunning(state);
      const input = parseOrReject(PauseInput, raw);
      if (state.paused)
        throw new Error(
          `the clock is already stopped since ${state.paused.since} (by ${state.paused.by}: ${state.paused.reason})`,
        );
      return input;
    },
    (input) => pause(state, input.reason, input.by, Date.now()),
  );

  update(
    resumeUpdate,
    (raw) => {
      requireRunning(state);
      const input = parseOrReject(ResumeInput, raw);
      if (!state.paused) throw new Error('the clock is not stopped; nothing to resume');
      return input;
    },
    (input) => resume(state, input.by, input.reason, Date.now()),
  );

  update(
    recordResponseUpdate,
    (raw) => {
      requireRunning(state);
      const input = parseOrReject(RecordResponseInput, raw);
      requireItems(state, input.itemIds, (i) =>
        isOpen(i) ? undefined : `is closed (${i.closure}); a response to it cannot be recorded`,
      );
      if (input.receivedAt && Date.parse(input.receivedAt) > Date.now())
        throw new Error(`receivedAt ${input.receivedAt} is in the future`);
      return input;
    },
    (input) => recordResponse(state, input, Date.now()),
  );

  update(
    reviewUpdate,
    (raw) => {
      requireRunning(state);
      const input = parseOrReject(ReviewInput, raw);
      const [item] = requireItems(state, [input.itemId], (i) =>
        i.phase === 'in-review'
          ? undefined
          : `is ${i.phase === 'closed' ? `closed (${i.closure})` : i.phase}; only answered items (in-review) can be reviewed`,
      );
      let dueAt: number | undefined;
      if (input.decision === 'more-info') {
        if (input.dueAt !== undefined) {
          const parsed = parseDeadline(input.dueAt, state.spec.counterparty.timezone);
          if ('error' in parsed) throw new Error(`dueAt: ${parsed.error}`);
          dueAt = parsed.ms;
        } else {
          dueAt = applyOffset(Date.now(), state.spec.review.followUpPeriod, state.spec, 1);
        }
        if (dueAt <= Date.now())
          throw new Error(
            `dueAt ${formatLocal(dueAt, state.spec.counterparty.timezone)} (${formatUtc(dueAt)}) is in the past`,
          );
      }
      return { input, item: item!, dueAt };
    },
    ({ input, item, dueAt }) => review(state, item, input, dueAt, Date.now()),
  );

  update(
    approveStepUpdate,
    (raw) => {
      requireRunning(state);
      const input = parseOrReject(ApproveStepInput, raw);
      const gates = gatesFor(state, input.step);
      const person = approverFor(state, gates[0]!, input.by);
      for (const g of gates.slice(1)) approverFor(state, g, input.by);
      return { input, gates, by: person.name };
    },
    ({ input, gates, by }) => {
      const now = Date.now();
      const released = gates.flatMap((gate) =>
        releaseGate(
          state,
          gate,
          {
            status: 'approved',
            by,
            ...(input.reason ? { reason: input.reason } : {}),
            ...(input.note ? { note: input.note } : {}),
          },
          now,
        ),
      );
      return {
        ok: true,
        message: `signed off ${gates.map((g) => `${g.id} (${g.label})`).join(', ')}: ${released.length ? `its messages go out for ${released.join(', ')} (now, or at each recipient's next sending hour)` : 'no item waits at it any more, nothing is sent'}`,
      };
    },
  );

  update(
    holdStepUpdate,
    (raw) => {
      requireRunning(state);
      const input = parseOrReject(HoldStepInput, raw);
      const gates = gatesFor(state, input.step).filter((g) => g.status === 'waiting');
      if (gates.length === 0)
        throw new Error(`"${input.step}" is already held; approve it to send it (auditflow approve)`);
      const person = approverFor(state, gates[0]!, input.by);
      for (const g of gates.slice(1)) approverFor(state, g, input.by);
      return { input, gates, by: person.name };
    },
    ({ input, gates, by }) => {
      for (const gate of gates) holdGate(state, gate, by, input.reason, Date.now());
      return {
        ok: true,
        message: `held ${gates.map((g) => `${g.id} (${g.label})`).join(', ')}: nothing goes out for ${[...new Set(gates.flatMap((g) => g.itemIds))].join(', ')} until someone approves it`,
      };
    },
  );

  for (const c of CORRECTIONS)
    update(
      c.def as typeof extendDeadlineUpdate,
      (raw) => c.validate(state, raw, Date.now()),
      (input) => c.apply(state, input, Date.now()),
    );

  update(
    withdrawUpdate,
    (raw) => {
      requireRunning(state);
      return parseOrReject(WithdrawInput, raw);
    },
    (input) => withdraw(state, input.reason, input.by, Date.now()),
  );
}
