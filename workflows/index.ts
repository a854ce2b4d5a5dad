/** The one workflowsPath / bundle entry: every workflow the worker registers. */
export { auditDemandWorkflow } from './audit-demand';
export { inboxWorkflow } from './inbox';
export { digestWorkflow } from './digest';
export type { AuditDemandInput, AuditDemandResult } from './audit-demand';
export { inboundSpoolWorkflow } from './spool';
