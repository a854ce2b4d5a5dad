/**
 * Reading demands without the Temporal client: describe, query, the first page of a history, and the
 * visibility list, as unary calls of Temporal's WorkflowService over grpc-js. `@temporalio/client` builds
 * the whole Temporal API when it is loaded, which was most of the time `auditflow show` and `list` took;
 * this reader carries only the messages it reads (platform/temporal-protos.ts) and decodes payloads with
 * the SDK's own converter and the data converter's codecs, so what it returns is what the client would.
 * It connects to the target as the client does: the same TLS settings, API key and metadata.
 */
import * as grpc from '@grpc/grpc-js';
import type { DataConverter, Payload, TypedSearchAttributes } from '@temporalio/common';
import { WorkflowNotFoundError } from '@temporalio/common/lib/errors';
import {
  decodeSearchAttributes,
  decodeTypedSearchAttributes,
} from '@temporalio/common/lib/converter/payload-search-attributes';
import {
  decodeArrayFromPayloads,
  decodeFromPayloadsAtIndex,
  decodeMapFromPayloads,
} from '@temporalio/common/lib/internal-non-workflow/codec-helpers';
import type { LoadedDataConverter } from '@temporalio/common/lib/converter/data-converter';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow/data-converter-helpers';
import { normalizeGrpcEndpointAddress } from '@temporalio/common/lib/internal-non-workflow/parse-host-uri';
import { normalizeTlsConfig } from '@temporalio/common/lib/internal-non-workflow/tls-config';
import { optionalTsToDate, requiredTsToDate } from '@temporalio/common/lib/time';
import type { TemporalTarget } from './temporal-target';
import { enumName, temporalType } from './temporal-protos';

const SERVICE = '/temporal.api.workflowservice.v1.WorkflowService';

/** A workflow as describe and list give it: the fields of the SDK's WorkflowExecutionInfo auditflow reads. */
export interface WorkflowSummary {
  workflowId: string;
  runId: string;
  type: string;
  status: { code: number; name: string };
  historyLength: number;
  startTime: Date;
  executionTime?: Date;
  closeTime?: Date;
  memo?: Record<string, unknown>;
  searchAttributes: Record<string, unknown>;
  typedSearchAttributes: TypedSearchAttributes;
}

/** An event of a history's first page, with the attributes auditflow reads. */
export interface HistoryEventSummary {
  /** The event type's name without its prefix: `WORKFLOW_EXECUTION_STARTED`. */
  type: string;
  time?: Date;
  /** WorkflowExecutionStarted: the workflow's arguments, decoded. */
  input?: unknown[];
  /** WorkflowExecutionTerminated: the reason and who terminated it. */
  terminated?: { reason: string; identity: string };
}

/** A workflow status's name as the SDK gives it: `RUNNING`, `TERMINATED`. */
function statusName(code: number | undefined): string {
  return enumName('WorkflowExecutionStatus', 'WORKFLOW_EXECUTION_STATUS_', code);
}

/** What a call returns, as protobufjs decodes it (only the fields of the cut, see temporal-protos.ts). */
type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- decoded protobuf

/** grpc-js settings for the target, as @temporalio/client's Connection makes them from the same options. */
function channelFor(target: TemporalTarget): {
  address: string;
  credentials: grpc.ChannelCredentials;
  options: grpc.ChannelOptions;
  metadata: grpc.Metadata;
} {
  const { tls, apiKey, metadata: extra } = target.connectionOptions;
  // The client's own rules: the default port, and TLS when asked for or when an API key is given.
  const address = normalizeGrpcEndpointAddress(target.address, 7233);
  const tlsConfig = normalizeTlsConfig(tls, apiKey);
  const toBuffer = (value: Uint8Array | undefined) => (value === undefined ? undefined : Buffer.from(value));
  const credentials = tlsConfig
    ? grpc.credentials.createSsl(
        toBuffer(tlsConfig.serverRootCACertificate),
        toBuffer(tlsConfig.clientCertPair?.key),
        toBuffer(tlsConfig.clientCertPair?.crt),
      )
    : grpc.credentials.createInsecure();
  const options: grpc.ChannelOptions = tlsConfig?.serverNameOverride
    ? {
        'grpc.ssl_target_name_override': tlsConfig.serverNameOverride,
        'grpc.default_authority': tlsConfig.serverNameOverride,
      }
    : {};
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(extra ?? {})) metadata.set(key, value);
  if (typeof apiKey === 'string' && apiKey) metadata.set('authorization', `Bearer ${apiKey}`);
  return { address, credentials, options, metadata };
}

/** A read-only connection to one namespace; close() when done. */
export class TemporalReader {
  private constructor(
    private readonly grpcClient: grpc.Client,
    private readonly metadata: grpc.Metadata,
    readonly namespace: string,
    private readonly converter: LoadedDataConverter,
  ) {}

  /** Connects and checks the namespace answers, within the timeout; throws the server's error otherwise. */
  static async connect(
    target: TemporalTarget,
    dataConverter: DataConverter = {},
    connectTimeoutMs = 5000,
  ): Promise<TemporalReader> {
    const { address, credentials, options, metadata } = channelFor(target);
    const reader = new TemporalReader(
      new grpc.Client(address, credentials, options),
      metadata,
      target.namespace,
      loadDataConverter(dataConverter),
    );
    try {
      await reader.call('DescribeNamespace', { namespace: target.namespace }, connectTimeoutMs);
    } catch (err) {
      reader.close();
      throw err;
    }
    return reader;
  }

  /** One unary call, with a deadline when given. */
  private call(method: string, request: Raw, timeoutMs?: number): Promise<Raw> {
    const requestType = temporalType(`workflowservice.v1.${method}Request`);
    const responseType = temporalType(`workflowservice.v1.${method}Response`);
    return new Promise((resolve, reject) => {
      this.grpcClient.makeUnaryRequest(
        `${SERVICE}/${method}`,
        (value: Raw) => Buffer.from(requestType.encode(value).finish()),
        (bytes: Buffer) => responseType.decode(bytes) as Raw,
        request,
        this.metadata,
        timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs },
        (err, response) => (err ? reject(err) : resolve(response!)),
      );
    });
  }

  /** A workflow not found is the SDK's WorkflowNotFoundError, as from the client. */
  private async callFor(
    method: string,
    request: Raw,
    workflowId: string,
    runId?: string,
    timeoutMs?: number,
  ): Promise<Raw> {
    try {
      return await this.call(method, request, timeoutMs);
    } catch (err) {
      if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND)
        throw new WorkflowNotFoundError((err as grpc.ServiceError).details || 'Workflow not found', workflowId, runId);
      throw err;
    }
  }

  private async summary(raw: Raw): Promise<WorkflowSummary> {
    const workflowId = raw.execution?.workflowId as string;
    const indexed = raw.searchAttributes?.indexedFields as Record<string, Payload> | undefined;
    return {
      workflowId,
      runId: raw.execution?.runId as string,
      type: raw.type?.name as string,
      status: {
        code: raw.status as number,
        name: statusName(raw.status as number),
      },
      historyLength: Number(raw.historyLength ?? 0),
      startTime: requiredTsToDate(raw.startTime, 'startTime'),
      executionTime: optionalTsToDate(raw.executionTime),
      closeTime: optionalTsToDate(raw.closeTime),
      memo: await decodeMapFromPayloads(this.converter, raw.memo?.fields, {
        type: 'workflow',
        namespace: this.namespace,
        workflowId,
      }),
      searchAttributes: decodeSearchAttributes(indexed),
      typedSearchAttributes: decodeTypedSearchAttributes(indexed),
    };
  }

  /** The workflow's description; WorkflowNotFoundError when there is none. */
  async describe(workflowId: string, runId?: string): Promise<WorkflowSummary> {
    const response = await this.callFor(
      'DescribeWorkflowExecution',
      { namespace: this.namespace, execution: { workflowId, runId } },
      workflowId,
      runId,
    );
    return this.summary(response.workflowExecutionInfo as Raw);
  }

  /**
   * A query without arguments, its result decoded; rejected or failed queries throw the server's reason.
   * Without a timeout it waits as long as the server lets it, as the client does.
   */
  async query<T>(workflowId: string, queryType: string, timeoutMs?: number): Promise<T> {
    const response = await this.callFor(
      'QueryWorkflow',
      { namespace: this.namespace, execution: { workflowId }, query: { queryType, queryArgs: { payloads: [] } } },
      workflowId,
      undefined,
      timeoutMs,
    );
    if (response.queryRejected) {
      const status = statusName(response.queryRejected.status as number).toLowerCase();
      throw new Error(`the query was rejected: the workflow is ${status}`);
    }
    const payloads = (response.queryResult?.payloads ?? []) as Payload[];
    return decodeFromPayloadsAtIndex<T>(this.converter, 0, payloads, {
      type: 'workflow',
      namespace: this.namespace,
      workflowId,
    });
  }

  /** The first events of a run's history (at most `max`), with the attributes auditflow reads. */
  async firstEvents(workflowId: string, runId: string, max: number): Promise<HistoryEventSummary[]> {
    const response = await this.callFor(
      'GetWorkflowExecutionHistory',
      { namespace: this.namespace, execution: { workflowId, runId }, maximumPageSize: max },
      workflowId,
      runId,
    );
    const context = { type: 'workflow', namespace: this.namespace, workflowId } as const;
    const events: HistoryEventSummary[] = [];
    for (const raw of (response.history?.events ?? []) as Raw[]) {
      const event: HistoryEventSummary = {
        type: enumName('EventType', 'EVENT_TYPE_', raw.eventType as number),
        time: optionalTsToDate(raw.eventTime),
      };
      const started = raw.workflowExecutionStartedEventAttributes as Raw | undefined;
      if (started) event.input = await decodeArrayFromPayloads(this.converter, started.input?.payloads, context);
      const terminated = raw.workflowExecutionTerminatedEventAttributes as Raw | undefined;
      if (terminated) event.terminated = { reason: terminated.reason ?? '', identity: terminated.identity ?? '' };
      events.push(event);
    }
    return events;
  }

  /** The workflows a visibility query matches, page after page, as the server orders them. */
  async *list(query: string, pageSize: number): AsyncGenerator<WorkflowSummary> {
    let nextPageToken: Uint8Array | undefined;
    do {
      const response = await this.call('ListWorkflowExecutions', {
        namespace: this.namespace,
        query,
        pageSize,
        nextPageToken,
      });
      for (const raw of (response.executions ?? []) as Raw[]) yield await this.summary(raw);
      nextPageToken = response.nextPageToken?.length ? (response.nextPageToken as Uint8Array) : undefined;
    } while (nextPageToken);
  }

  close(): void {
    this.grpcClient.close();
  }
}
