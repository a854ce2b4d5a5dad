/**
 * The triage inbox workflow (`auditflow-inbox:<task queue>`): keeps every message the gateway could not record,
 * with its reason, until ops assign it to a demand (it is then signalled there as an answer) or
 * discard it with a reason. A decided message is written to the triage log in storage and leaves the
 * state, so the inbox holds only what waits (at most TRIAGE_LIMITS); when full, the gateway answers 451
 * and the sender tries again later. Continues as new when the server suggests it.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { demandWorkflowId } from '../domain/ids';
import { TRIAGE_LIMITS } from '../domain/limits';
import { replyReceivedSignal } from '../domain/messages';
import {
  AssignTriageInput,
  DiscardTriageInput,
  addTriageUpdate,
  assignTriageUpdate,
  discardTriageUpdate,
  inboxFullReason,
  inboxQuery,
  triageAddedSignal,
  triageEntryProblem,
  type AddTriageResult,
  type InboxState,
  type TriageEntry,
} from '../domain/triage';

const { logTriageDecision } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', maximumInterval: '1m' },
  summary: 'write the decision to the triage log',
});

export interface InboxInput {
  carried?: InboxState;
}

function open(state: InboxState, id: string): TriageEntry {
  const entry = state.entries.find((e) => e.id === id);
  if (!entry) {
    const decided = state.handledIds?.includes(id);
    throw new Error(
      decided
        ? `message "${id}" was already decided (see: npx auditflow inbox --all)`
        : `no kept message "${id}" (list them with: npx auditflow inbox)`,
    );
  }
  if (entry.status !== 'open')
    throw new Error(`message "${id}" was already ${entry.status} by ${entry.decidedBy ?? '?'}`);
  return entry;
}

/** Writes a decided entry to the triage log and drops it from the state (histories from before pruning keep it). */
async function settle(state: InboxState, entry: TriageEntry): Promise<void> {
  if (!patched('prune-decided-triage')) return;
  await logTriageDecision({ entry });
  state.entries = state.entries.filter((e) => e !== entry);
  state.handledIds = [...(state.handledIds ?? []), entry.id].slice(-TRIAGE_LIMITS.rememberedHandledIds);
  state.handled = (state.handled ?? 0) + 1;
}

/** The inbox; runs until continued as new, never ends on its own. */
export async function inboxWorkflow(input: InboxInput = {}): Promise<void> {
  const state: InboxState = input.carried
    ? { ...input.carried, runs: input.carried.runs + 1 }
    : { entries: [], runs: 1 };
  setHandler(inboxQuery, () => state);
  const add = (entry: TriageEntry): AddTriageResult => {
    const known = state.entries.find((e) => e.id === entry.id);
    if (known) {
      known.deliveries += 1;
      return { id: known.id, deliveries: known.deliveries, status: known.status === 'open' ? 'open' : 'decided' };
    }
    if (state.handledIds?.includes(entry.id)) {
      state.redeliveredAfterDecision = (state.redeliveredAfterDecision ?? 0) + 1;
      return { id: entry.id, deliveries: 2, status: 'decided' };
    }
    state.entries.push({ ...entry, deliveries: 1, status: 'open' });
    return { id: entry.id, deliveries: 1, status: 'open' };
  };
  setHandler(triageAddedSignal, (entry) => void add(entry));
  setHandler(addTriageUpdate, add, {
    validator: (entry) => {
      const problem = triageEntryProblem(entry);
      if (problem) throw new Error(`not a valid triage entry: ${problem}`);
      const redelivery = state.entries.some((e) => e.id === entry.id) || state.handledIds?.includes(entry.id);
      const full = redelivery ? undefined : inboxFullReason(state, entry);
      if (full) throw new Error(full);
    },
  });
  setHandler(
    assignTriageUpdate,
    async (req) => {
      const entry = open(state, req.id);
      const { attachments, ...reply } = entry.reply ?? ({} as NonNullable<TriageEntry['reply']>);
      const listed = attachments?.length ? attachments : entry.attachments;
      await getExternalWorkflowHandle(demandWorkflowId(req.demandId)).signal(replyReceivedSignal, {
        ...reply,
        attachments: listed,
        ...(entry.attachmentManifest ? { attachmentManifest: entry.attachmentManifest } : {}),
        kind: reply.kind === 'extension-request' ? 'extension-request' : 'answer',
        itemIds: req.itemIds,
      });
      Object.assign(entry, {
        status: 'assigned',
        decidedBy: req.by,
        decidedAt: new Date(Date.now()).toISOString(),
        decision: `assigned to ${req.demandId} (${req.itemIds.join(', ')})`,
      });
      await settle(state, entry);
      return entry;
    },
    {
      validator: (req) => {
        AssignTriageInput.parse(req);
        const entry = open(state, req.id);
        if (!entry.reply)
          throw new Error(
            `message "${req.id}" could not be parsed, so it cannot be recorded as an answer; discard it and record the answer with: npx auditflow record`,
          );
      },
    },
  );
  setHandler(
    discardTriageUpdate,
    async (req) => {
      const entry = open(state, req.id);
      Object.assign(entry, {
        status: 'discarded',
        decidedBy: req.by,
        decidedAt: new Date(Date.now()).toISOString(),
        decision: `discarded: ${req.reason}`,
      });
      await settle(state, entry);
      return entry;
    },
    {
      validator: (req) => {
        DiscardTriageInput.parse(req);
        open(state, req.id);
      },
    },
  );
  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof inboxWorkflow>({ carried: state });
}
