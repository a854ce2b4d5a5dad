/**
 * The owners' daily digest (`digestWorkflow`): started every quarter hour by the `auditflow-digest`
 * Schedule, and by `auditflow digest --now`. It reads the running demands and the triage inbox through an
 * activity (visibility list, each demand's status query), works out who is at 09:00 on a business day and
 * has something to do, and sends each of them one email. The send ledger keeps it to one a day per owner.
 */
import { ApplicationFailure, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { DigestInput, type DigestResult } from '../domain/digest';
import { FailureType } from '../domain/errors';
import { isoInstant } from '../domain/time';
import { formatPath } from '../domain/demand';
import { DIGEST_SLOT_MS, buildDigests, digestMailInput, digestMailKey } from './digest-model';

const RETRY = { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m' } as const;
const { readDigestSources } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: RETRY,
  summary: 'read the running demands and the triage inbox',
});
// Heartbeats, as the demand's sends do (workflows/audit-demand.ts): retried soon after a worker dies.
const { sendEmail } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: '10s',
  retry: RETRY,
  summary: "send an owner's digest",
});

/** Sends the digest to every owner it is due for (all owners with something to do, for `now`). */
export async function digestWorkflow(raw: DigestInput = {}): Promise<DigestResult> {
  const parsed = DigestInput.safeParse(raw);
  if (!parsed.success)
    throw ApplicationFailure.nonRetryable(
      `invalid digest input: ${parsed.error.issues.map((i) => `${formatPath(i.path)} ${i.message}`).join('; ')}`,
      FailureType.InvalidDigest,
    );
  const { mode, owner } = parsed.data;
  const started = Date.now();
  // A scheduled run is dated at the start of its quarter hour, so a run that started late still says 09:00.
  const now = mode === 'scheduled' ? started - (started % DIGEST_SLOT_MS) : started;
  const sources = await readDigestSources({ at: isoInstant(now) });
  const digests = buildDigests(sources, now, { mode, ...(owner ? { owner } : {}) });
  const sent: DigestResult['sent'] = [];
  for (const d of digests) {
    const key = digestMailKey(d, mode, workflowInfo().workflowId);
    const r = await sendEmail(digestMailInput(d, key));
    sent.push({
      owner: d.owner.address,
      subject: r.subject,
      count: d.count,
      messageId: r.messageId,
      alreadySent: r.alreadySent ?? false,
    });
  }
  log.info('digest run finished', {
    mode,
    demands: sources.demands.length,
    triage: sources.triage.length,
    sent: sent.filter((s) => !s.alreadySent).length,
    alreadySent: sent.filter((s) => s.alreadySent).length,
  });
  return { at: isoInstant(now), mode, sent };
}
