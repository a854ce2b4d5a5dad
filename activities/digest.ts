/** The digest's activity: reads the running demands and the triage inbox with the worker's own client. */
import { Context, log } from '@temporalio/activity';
import type { ReadDigestSourcesInput } from '../domain/contracts';
import type { DigestSources } from '../domain/digest';
import { collectDigestSources } from '../platform/digest-source';

/** Creates the digest activities. */
export function createDigestActivities() {
  return {
    /**
     * The digest's sources for the task queue this worker serves. The worker's client is bound to its
     * namespace and uses its data converter, so encrypted states and inbox entries read in clear here.
     */
    async readDigestSources(input: ReadDigestSourcesInput): Promise<DigestSources> {
      const { client, info } = Context.current();
      const { sources, unreadable } = await collectDigestSources(client, info.taskQueue, Date.parse(input.at));
      for (const problem of unreadable) log.warn('digest: could not read a demand; it is left out', { problem });
      log.info('digest sources read', { demands: sources.demands.length, triage: sources.triage.length });
      return sources;
    },
  };
}
