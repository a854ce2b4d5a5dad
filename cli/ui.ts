/** Links into the Temporal Web UI. */
import type { CliContext } from './client';

/** The UI's base URL: AUDITFLOW_UI_URL, else the local dev server's. */
export function uiBase(ctx: Pick<CliContext, 'config'>): string {
  return (process.env.AUDITFLOW_UI_URL ?? `http://localhost:${ctx.config.uiPort}`).replace(/\/+$/, '');
}

/** The page of one workflow. */
export function workflowUrl(ctx: Pick<CliContext, 'config' | 'target'>, workflowId: string): string {
  return `${uiBase(ctx)}/namespaces/${encodeURIComponent(ctx.target.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
