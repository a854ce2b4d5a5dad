/**
 * The report document: a stable, versioned, plain-JSON view of a demand built from its state. It is
 * what `report --format json` prints and what the workflow writes as report.json, and the Markdown and
 * HTML renderers read only this, so a report re-rendered from a stored report.json (after Temporal's
 * retention deleted the history) is the same report.
 */
import type { AttachmentRef } from '../../domain/attachments';
import type { DemandSpec } from '../../domain/demand';
import type {
  AnswerRecord,
  DemandState,
  DemandStatus,
  EvidenceRef,
  ExtensionRequest,
  ItemClosure,
  ItemPhase,
  ProblemRecord,
  ReviewRecord,
} from '../../domain/state';
import { TERMINAL_STATUSES } from '../../domain/state';

/** Bumped only when a field changes meaning or disappears; new fields may be added within a version. */
export const REPORT_VERSION = 1;

/** Where the data of a report came from. */
export interface ReportSource {
  /** `workflow`: the demand's live state (status query); `final-report`: the report.json the workflow wrote when it ended. */
  kind: 'workflow' | 'final-report';
  /** For `final-report`: the file read. */
  path?: string;
  note?: string;
}

/** One round of questions on an item. */
export interface ReportRound {
  round: number;
  kind: 'request' | 'follow-up';
  questions: string[];
  requestedAt?: string;
  dueAt: string;
  answeredAt?: string;
}

/** One item: its questions, answers, reviews and how it ended. */
export interface ReportItem {
  id: string;
  name: string;
  description?: string;
  phase: ItemPhase;
  closure?: ItemClosure;
  closedAt?: string;
  dueAt: string;
  remindersSent: number;
  maxEscalationLevel: number;
  rounds: ReportRound[];
  answers: AnswerRecord[];
  reviews: ReviewRecord[];
}

/** One line of the timeline: a message sent or received, or a decision. */
export interface ReportEvent {
  at: string;
  type: 'message' | 'decision';
  /** Message kind (request, reminder, answer, ...) or decision kind (extend, pause, escalation, ...). */
  kind: string;
  direction?: 'out' | 'in';
  messageId?: string;
  subject?: string;
  from?: string;
  to?: string[];
  status?: string;
  by?: string;
  reason?: string;
  detail?: string;
  itemIds: string[];
  raw?: EvidenceRef;
}

/** The whole report. */
export interface ReportDocument {
  version: typeof REPORT_VERSION;
  generatedAt: string;
  source: ReportSource;
  demand: {
    id: string;
    workflowId: string;
    title: string;
    basis: string;
    requester: string;
    counterparty: string;
    /** The counterparty's IANA zone: local times in the report are on this clock. */
    timezone: string;
    status: DemandStatus;
    ended: boolean;
    startedAt: string;
    startedBy: string;
    finishedAt?: string;
    withdrawn?: { at: string; by: string; reason: string };
    paused?: { since: string; by: string; reason: string };
  };
  /** How the demand ended (or stands): its status and the count of items per closure. */
  outcome: { status: DemandStatus; ended: boolean; closures: Partial<Record<ItemClosure | 'open', number>> };
  items: ReportItem[];
  timeline: ReportEvent[];
  extensionRequests: ExtensionRequest[];
  /** Steps that waited for sign-off: who decided what, and when (absent in reports of older demands). */
  signOffs?: ReportSignOff[];
  problems: ProblemRecord[];
  duplicatesIgnored: number;
  spec: DemandSpec;
  /** Files the demand sent with its request and final notice (absent when none): the case file holds their bytes. */
  attachments?: AttachmentRef[];
}

/** A step that waited for sign-off, as the report shows it. */
export interface ReportSignOff {
  id: string;
  label: string;
  itemIds: string[];
  approverRole: string;
  onTimeout: 'hold' | 'send';
  openedAt: string;
  expiresAt: string;
  status: string;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
  note?: string;
  /** Who the held messages were for. */
  recipients: string[];
}

/** Every decision and message in time order; at one instant a decision comes before the mail it caused. */
function timeline(state: DemandState): ReportEvent[] {
  const events: ReportEvent[] = [
    ...state.decisions.map((d): ReportEvent => ({
      at: d.at,
      type: 'decision',
      kind: d.kind,
      itemIds: d.itemIds,
      ...(d.by ? { by: d.by } : {}),
      ...(d.reason ? { reason: d.reason } : {}),
      ...(d.detail ? { detail: d.detail } : {}),
    })),
    ...state.messages.map((m): ReportEvent => ({
      at: m.at,
      type: 'message',
      kind: m.kind,
      direction: m.direction,
      itemIds: m.itemIds,
      to: m.to,
      ...(m.messageId ? { messageId: m.messageId } : {}),
      ...(m.subject ? { subject: m.subject } : {}),
      ...(m.from ? { from: m.from } : {}),
      ...(m.status ? { status: m.status } : {}),
      ...(m.detail ? { detail: m.detail } : {}),
      ...(m.raw ? { raw: m.raw } : {}),
    })),
  ];
  // The sort is stable: at one instant, decisions then messages, each in the order recorded.
  return events.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/** Builds the report document from a demand's state (pure: the caller gives the time and the source). */
export function buildReport(state: DemandState, meta: { generatedAt: string; source: ReportSource }): ReportDocument {
  const ended = TERMINAL_STATUSES.includes(state.status);
  const closures: Partial<Record<ItemClosure | 'open', number>> = {};
  for (const i of state.items) {
    const k = i.closure ?? 'open';
    closures[k] = (closures[k] ?? 0) + 1;
  }
  const described = new Map(state.spec.items.map((i) => [i.id, i.description]));
  return {
    version: REPORT_VERSION,
    generatedAt: meta.generatedAt,
    source: meta.source,
    demand: {
      id: state.demandId,
      workflowId: state.workflowId,
      title: state.spec.title,
      basis: state.spec.basis,
      requester: state.spec.requester.organisation,
      counterparty: state.spec.counterparty.organisation,
      timezone: state.spec.counterparty.timezone,
      status: state.status,
      ended,
      startedAt: state.startedAt,
      startedBy: state.startedBy,
      ...(state.finishedAt ? { finishedAt: state.finishedAt } : {}),
      ...(state.withdrawn ? { withdrawn: state.withdrawn } : {}),
      ...(state.paused ? { paused: state.paused } : {}),
    },
    outcome: { status: state.status, ended, closures },
    items: state.items.map((i) => ({
      id: i.id,
      name: i.name,
      ...(described.get(i.id) ? { description: described.get(i.id) } : {}),
      phase: i.phase,
      ...(i.closure ? { closure: i.closure } : {}),
      ...(i.closedAt ? { closedAt: i.closedAt } : {}),
      dueAt: i.dueAt,
      remindersSent: i.remindersSent,
      maxEscalationLevel: i.maxEscalationLevel,
      rounds: i.rounds.map((r) => ({ ...r, kind: r.round === 0 ? 'request' : 'follow-up' })),
      answers: i.answers,
      reviews: i.reviews,
    })),
    timeline: timeline(state),
    extensionRequests: state.extensionRequests,
    ...(state.gates?.length
      ? {
          // The gate without what only the workflow needs (its schedule keys and the held messages themselves).
          signOffs: state.gates.map(({ step: _step, actionKeys: _keys, scheduledAt: _at, mails, ...g }) => ({
            ...g,
            recipients: [...new Set(mails.map((m) => m.to.address))],
          })),
        }
      : {}),
    problems: state.problems,
    duplicatesIgnored: state.duplicatesIgnored,
    spec: state.spec,
    ...(state.attachments?.length ? { attachments: state.attachments } : {}),
  };
}

/** Checks that parsed JSON is a report document this version can read; returns why not otherwise. */
export function asReportDocument(value: unknown): { ok: true; doc: ReportDocument } | { ok: false; reason: string } {
  const v = value as Partial<ReportDocument> | null;
  if (!v || typeof v !== 'object') return { ok: false, reason: 'not a JSON object' };
  if (v.version !== REPORT_VERSION)
    return { ok: false, reason: `report version ${JSON.stringify(v.version)} is not ${REPORT_VERSION}` };
  if (!v.demand || typeof v.demand.id !== 'string' || !Array.isArray(v.items) || !Array.isArray(v.timeline))
    return { ok: false, reason: 'missing demand, items or timeline' };
  return { ok: true, doc: v as ReportDocument };
}
