/** Links into the Temporal Web UI. */
import type { CliContext } from './client';

/** The page of one workflow. */
export function workflowUrl(ctx: Pick<CliContext, 'config' | 'target'>, workflowId: string): string {
  return `${ctx.config.uiUrl}/namespaces/${encodeURIComponent(ctx.target.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
