/**
 * OpenTelemetry traces through the Temporal SDK's interceptors, exported by OTLP/HTTP when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set. With it unset nothing here loads the OpenTelemetry SDK (the CLI stays
 * fast); the worker still gives the workflow bundle's interceptor a sink, one that drops its spans.
 */
import path from 'node:path';
import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry/lib/workflow/definitions';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { TracingSettings } from './config';
import { PROJECT_ROOT } from './paths';

/** Each process's service name in the spans, unless OTEL_SERVICE_NAME names one for all. */
export type TracedProcess = 'auditflow-cli' | 'auditflow-worker' | 'auditflow-gateway';

/** A process's registered tracer provider, and what the worker hands to its workflow sink. */
export interface Tracing {
  serviceName: string;
  resource: Resource;
  spanProcessor: SpanProcessor;
  /** Sends the spans still buffered and stops; await it before the process exits. */
  shutdown(): Promise<void>;
}

/** The workflow interceptor module the workflow bundle must contain: RunWorkflow spans and their context. */
export function workflowTracingModule(): string {
  return path.join(PROJECT_ROOT, 'workflows', 'interceptors.ts');
}

/** Registers the global tracer provider (W3C trace context, async-local context) exporting to the endpoint. */
export async function startTracing(settings: TracingSettings, process: TracedProcess): Promise<Tracing> {
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { Resource }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const serviceName = settings.serviceName ?? process;
  const resource = new Resource({ 'service.name': serviceName });
  // A second between exports: a trace shows up while the demand it follows is still being looked at.
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url: `${settings.endpoint}/v1/traces` }), {
    scheduledDelayMillis: 1000,
  });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  return { serviceName, resource, spanProcessor, shutdown: () => provider.shutdown() };
}

/** A client's interceptors: StartWorkflow, SignalWorkflow and StartWorkflowUpdate spans, passed on in the headers. */
export async function clientTracing(tracing: Tracing | undefined): Promise<{ workflow: WorkflowClientInterceptor[] }> {
  if (!tracing) return { workflow: [] };
  const { OpenTelemetryWorkflowClientInterceptor } = await import('@temporalio/interceptors-opentelemetry');
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/**
 * The worker's part: RunActivity spans, and the `exporter` sink that takes the workflow's spans out of the
 * sandbox. The sink is there even with tracing off, since the bundle's interceptor always calls it.
 */
export async function workerTracing(
  tracing: Tracing | undefined,
): Promise<{ sinks: InjectedSinks<OpenTelemetrySinks>; activity: ActivityInterceptorsFactory[] }> {
  if (!tracing) return { sinks: { exporter: { export: { fn: () => undefined } } }, activity: [] };
  const otel = await import('@temporalio/interceptors-opentelemetry');
  return {
    sinks: { exporter: otel.makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
    activity: [
      (ctx) => ({
        inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx),
        outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
  };
}
