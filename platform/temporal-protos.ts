/**
 * The few Temporal API messages auditflow reads without the Temporal client: the status and list commands,
 * and the payload codec. `@temporalio/proto` builds every message of the API when it is loaded (a 1.4 MB
 * descriptor, about 200 ms of a CLI command that takes a few hundred); this is the same descriptor cut down
 * to the requests and responses below, and to the fields of them auditflow reads. Decoding skips the fields
 * left out, so a response parses the same; field numbers and types come from the installed
 * `@temporalio/proto`, never typed by hand. The build stores the cut in dist/temporal-protos.json; the
 * TypeScript sources (tests, development) cut it at first use.
 */
import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs/light';
import { DIST_DIR, RUNNING_COMPILED } from './paths';

const API = 'temporal.api';

/** Each message kept, with the fields kept (all of them when null); the messages they use are kept whole. */
const KEPT: Record<string, readonly string[] | null> = {
  [`${API}.workflowservice.v1.DescribeNamespaceRequest`]: ['namespace'],
  [`${API}.workflowservice.v1.DescribeNamespaceResponse`]: [],
  [`${API}.workflowservice.v1.DescribeWorkflowExecutionRequest`]: ['namespace', 'execution'],
  [`${API}.workflowservice.v1.DescribeWorkflowExecutionResponse`]: ['workflowExecutionInfo'],
  [`${API}.workflowservice.v1.QueryWorkflowRequest`]: ['namespace', 'execution', 'query', 'queryRejectCondition'],
  [`${API}.workflowservice.v1.QueryWorkflowResponse`]: ['queryResult', 'queryRejected'],
  [`${API}.query.v1.WorkflowQuery`]: ['queryType', 'queryArgs', 'header'],
  [`${API}.workflowservice.v1.GetWorkflowExecutionHistoryRequest`]: [
    'namespace',
    'execution',
    'maximumPageSize',
    'nextPageToken',
  ],
  [`${API}.workflowservice.v1.GetWorkflowExecutionHistoryResponse`]: ['history', 'nextPageToken'],
  [`${API}.history.v1.History`]: ['events'],
  [`${API}.history.v1.HistoryEvent`]: [
    'eventId',
    'eventTime',
    'eventType',
    'workflowExecutionStartedEventAttributes',
    'workflowExecutionTerminatedEventAttributes',
  ],
  [`${API}.history.v1.WorkflowExecutionStartedEventAttributes`]: ['input'],
  [`${API}.history.v1.WorkflowExecutionTerminatedEventAttributes`]: ['reason', 'identity'],
  [`${API}.workflowservice.v1.ListWorkflowExecutionsRequest`]: ['namespace', 'pageSize', 'nextPageToken', 'query'],
  [`${API}.workflowservice.v1.ListWorkflowExecutionsResponse`]: ['executions', 'nextPageToken'],
  [`${API}.workflow.v1.WorkflowExecutionInfo`]: [
    'execution',
    'type',
    'startTime',
    'closeTime',
    'status',
    'historyLength',
    'executionTime',
    'memo',
    'searchAttributes',
  ],
  [`${API}.common.v1.Payload`]: null,
};

/** The cut descriptor, with the version of `@temporalio/proto` it was cut from. */
export interface TemporalProtosJson {
  protoVersion: string;
  root: protobuf.INamespace;
}

/** Where the build stores the cut. */
export const PREBUILT_TEMPORAL_PROTOS = path.join(DIST_DIR, 'temporal-protos.json');

/** The installed `@temporalio/proto`'s version: a build cut from another one is not used. */
function installedProtoVersion(): string {
  const file = require.resolve('@temporalio/proto/package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

type JsonNode = { nested?: Record<string, JsonNode>; fields?: Record<string, unknown>; [key: string]: unknown };

/** Cuts the kept messages out of the whole API (loads `@temporalio/proto`: the build, or the sources). */
export function cutTemporalProtos(): TemporalProtosJson {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only here, never by the compiled CLI
  const full = require('@temporalio/proto') as protobuf.Root;
  full.resolveAll();
  const fullJson = full.toJSON() as JsonNode;
  const kept = new Map<string, readonly string[] | null>();
  const queue = Object.keys(KEPT);
  while (queue.length) {
    const name = queue.shift()!;
    if (kept.has(name)) continue;
    const type = full.lookupTypeOrEnum(name);
    const fields = type instanceof protobuf.Type ? (KEPT[name] ?? Object.keys(type.fields)) : null;
    kept.set(name, fields);
    for (const fieldName of fields ?? []) {
      const field = (type as protobuf.Type).fields[fieldName];
      if (!field) throw new Error(`${name} has no field ${fieldName} in @temporalio/proto ${installedProtoVersion()}`);
      field.resolve();
      if (field.resolvedType) queue.push(field.resolvedType.fullName.slice(1));
    }
  }
  // Enums the readers name values of, whole.
  for (const name of [`${API}.enums.v1.EventType`, `${API}.enums.v1.WorkflowExecutionStatus`]) kept.set(name, null);
  const root: JsonNode = {};
  for (const [name, fields] of kept) {
    const parts = name.split('.');
    let source = fullJson;
    let target = root;
    for (const part of parts.slice(0, -1)) {
      source = source.nested![part]!;
      target = (target.nested ??= {})[part] ??= {};
    }
    const last = parts[parts.length - 1]!;
    const { nested: _nested, options: _options, oneofs: _oneofs, ...copy } = source.nested![last]!;
    const entry: JsonNode = JSON.parse(JSON.stringify(copy)) as JsonNode;
    if (fields && entry.fields) entry.fields = Object.fromEntries(fields.map((f) => [f, entry.fields![f]]));
    // A message kept for a nested one keeps it: Link holds Link.WorkflowEvent.
    const existing = (target.nested ??= {})[last];
    if (existing?.nested) entry.nested = existing.nested;
    target.nested[last] = entry;
  }
  return { protoVersion: installedProtoVersion(), root: root as protobuf.INamespace };
}

let cached: protobuf.Root | undefined;

/** The cut messages, ready to encode and decode: the build's file when it matches, else cut now. */
export function temporalProtos(): protobuf.Root {
  if (cached) return cached;
  let json: TemporalProtosJson | undefined;
  if (RUNNING_COMPILED) {
    try {
      json = JSON.parse(fs.readFileSync(PREBUILT_TEMPORAL_PROTOS, 'utf8')) as TemporalProtosJson;
      if (json.protoVersion !== installedProtoVersion()) json = undefined;
    } catch {
      json = undefined;
    }
  }
  cached = protobuf.Root.fromJSON((json ?? cutTemporalProtos()).root);
  return cached;
}

/** A message type of the cut, by its name under temporal.api (`common.v1.Payload`). */
export function temporalType(name: string): protobuf.Type {
  return temporalProtos().lookupType(`${API}.${name}`);
}

/** A value's name in an enum of the cut, without the enum's prefix (`RUNNING`), or `UNSPECIFIED`. */
export function enumName(enumName: string, prefix: string, value: number | null | undefined): string {
  const name = temporalProtos().lookupEnum(`${API}.enums.v1.${enumName}`).valuesById[value ?? 0] ?? 'UNSPECIFIED';
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}
