/**
 * The cut of the Temporal API that `show` and `list` read with (platform/temporal-protos.ts): what the
 * whole API encodes, the cut decodes to the same values in the fields it kept, and skips the rest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import type protobuf from 'protobufjs/light';
import { cutTemporalProtos, enumName, temporalType } from '../../platform/temporal-protos';

const full = temporal.api;

describe('the cut of the Temporal API', () => {
  it('is cut from the installed @temporalio/proto and keeps the Payload whole', () => {
    const cut = cutTemporalProtos();
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the installed version, as the cut reads it
    assert.equal(cut.protoVersion, (require('@temporalio/proto/package.json') as { version: string }).version);
    assert.deepEqual(
      Object.keys(temporalType('common.v1.Payload').fields).sort(),
      Object.keys((temporal as unknown as protobuf.Root).lookupType('temporal.api.common.v1.Payload').fields).sort(),
    );
  });

  it('decodes a describe response as the whole API does, in the fields it kept', () => {
    const payload = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"x"') };
    const bytes = full.workflowservice.v1.DescribeWorkflowExecutionResponse.encode({
      executionConfig: { taskQueue: { name: 'audit-demands' } },
      workflowExecutionInfo: {
        execution: { workflowId: 'audit:acme', runId: 'run-1' },
        type: { name: 'auditDemandWorkflow' },
        startTime: { seconds: Long.fromNumber(1_800_000_000), nanos: 5_000_000 },
        executionTime: { seconds: Long.fromNumber(1_800_000_600) },
        status: full.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
        historyLength: Long.fromNumber(42),
        memo: { fields: { auditflowStartAt: payload } },
        searchAttributes: { indexedFields: { AuditStatus: payload } },
        taskQueue: 'audit-demands',
      },
      pendingActivities: [{ activityId: '1', activityType: { name: 'sendEmail' }, attempt: 3 }],
    }).finish();
    const decoded = temporalType('workflowservice.v1.DescribeWorkflowExecutionResponse').decode(bytes) as unknown as {
      workflowExecutionInfo: Record<string, unknown>;
    };
    const info = decoded.workflowExecutionInfo;
    assert.deepEqual(Object.keys(decoded), ['workflowExecutionInfo']);
    assert.deepEqual({ ...(info.execution as object) }, { workflowId: 'audit:acme', runId: 'run-1' });
    assert.equal(Number((info.startTime as { seconds: Long }).seconds), 1_800_000_000);
    assert.equal(Number((info.historyLength as Long).toString()), 42);
    assert.equal(enumName('WorkflowExecutionStatus', 'WORKFLOW_EXECUTION_STATUS_', info.status as number), 'RUNNING');
    const memo = (info.memo as { fields: Record<string, { data: Uint8Array }> }).fields.auditflowStartAt!;
    assert.equal(Buffer.from(memo.data).toString(), '"x"');
    assert.equal(info.taskQueue, undefined, 'a field left out of the cut is skipped');
  });

  it('names history events as the whole API does', () => {
    for (const name of ['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_EXECUTION_TERMINATED'])
      assert.equal(
        enumName('EventType', 'EVENT_TYPE_', full.enums.v1.EventType[`EVENT_TYPE_${name}` as 'EVENT_TYPE_UNSPECIFIED']),
        name,
      );
  });
});
