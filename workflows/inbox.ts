/**
 * The triage inbox workflow (`auditflow-inbox:<task queue>`): keeps every message the gateway could not record,
 * with its reason, until ops assign it to a demand (it is then signalled there as an answer) or
 * discard it with a reason. Continues as new when the server suggests it.
 */
import { allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import { demandWorkflowId } from '../domain/ids';
import { replyReceivedSignal } from '../domain/messages';
import { AssignTriageInput, DiscardTriageInput, assignTriageUpdate, discardTriageUpdate, inboxQuery, triageAddedSignal, type InboxState, type TriageEntry } from '../domain/triage';

export interface InboxInput {
  carried?: InboxState;
}

function open(state: InboxState, id: string): TriageEntry {
  const entry = state.entries.find((e) => e.id === id);
  if (!entry) throw new Error(`no kept message "${id}" (list them with: npx auditflow inbox)`);
  if (entry.status !== 'open') throw new Error(`message "${id}" was already ${entry.status} by ${entry.decidedBy ?? '?'}`);
  return entry;
}

/** The inbox; runs until continued as new, never ends on its own. */
export async function inboxWorkflow(input: InboxInput = {}): Promise<void> {
  const state: InboxState = input.carried ? { ...input.carried, runs: input.carried.runs + 1 } : { entries: [], runs: 1 };
  setHandler(inboxQuery, () => state);
  setHandler(triageAddedSignal, (entry) => {
    const known = state.entries.find((e) => e.id === entry.id);
    if (known) known.deliveries += 1;
    else state.entries.push({ ...entry, deliveries: 1, status: 'open' });
  });
  setHandler(
    assignTriageUpdate,
    async (req) => {
      const entry = open(state, req.id);
      const reply = entry.reply;
      await getExternalWorkflowHandle(demandWorkflowId(req.demandId)).signal(replyReceivedSignal, { ...reply, kind: reply?.kind === 'extension-request' ? 'extension-request' : 'answer', itemIds: req.itemIds });
      Object.assign(entry, { status: 'assigned', decidedBy: req.by, decidedAt: new Date(Date.now()).toISOString(), decision: `assigned to ${req.demandId} (${req.itemIds.join(', ')})` });
      return entry;
    },
    {
      validator: (req) => {
        AssignTriageInput.parse(req);
        const entry = open(state, req.id);
        if (!entry.reply) throw new Error(`message "${req.id}" could not be parsed, so it cannot be recorded as an answer; discard it and record the answer with: npx auditflow record`);
      },
    },
  );
  setHandler(
    discardTriageUpdate,
    (req) => {
      const entry = open(state, req.id);
      Object.assign(entry, { status: 'discarded', decidedBy: req.by, decidedAt: new Date(Date.now()).toISOString(), decision: `discarded: ${req.reason}` });
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
