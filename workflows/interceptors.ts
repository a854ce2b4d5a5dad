/**
 * Not a workflow: the interceptors the workflow bundle installs in every run. OpenTelemetry's create the
 * RunWorkflow, StartActivity, StartChildWorkflow and HandleUpdate spans, exported through the worker's
 * `exporter` sink, and carry the trace context on to activities and child workflows.
 */
import { patched, type WorkflowInterceptors } from '@temporalio/workflow';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';

type Call = (input: unknown, next: (input: unknown) => unknown) => unknown;

/** `target` where `traced()` holds, a plain pass-through (`next(input)`) where it does not. */
function gated<T extends object>(target: T, traced: () => boolean): T {
  return new Proxy(target, {
    get(object, key, receiver) {
      const method = Reflect.get(object, key, receiver) as unknown;
      if (typeof method !== 'function') return method;
      return (input: unknown, next: (input: unknown) => unknown) =>
        traced() ? (method as Call).call(object, input, next) : next(input);
    },
  });
}

/**
 * Gated by a patch: the interceptor yields once more before an update handler and before each command
 * unless the history says it may not, and histories recorded before tracing came in do not, so those runs
 * replay as they were recorded, untraced; runs started since then are traced. The patch is asked at the
 * first workflow call (the run's start), before any command, and the handlers only follow its answer.
 */
export const interceptors = (): WorkflowInterceptors => {
  let decided: boolean | undefined;
  const decide = () => (decided ??= patched('otel-tracing'));
  return {
    inbound: [gated(new OpenTelemetryInboundInterceptor(), decide)],
    outbound: [gated(new OpenTelemetryOutboundInterceptor(), decide)],
    internals: [gated(new OpenTelemetryInternalsInterceptor(), () => decided === true)],
  };
};
