/** The one workflowsPath / bundle entry: every workflow the worker registers. */
export { auditDemandWorkflow } from './audit-demand';
export { inboxWorkflow } from './inbox';
export type { AuditDemandInput, AuditDemandResult } from './audit-demand';
