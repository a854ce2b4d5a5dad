/**
 * Opens the storage named by the settings (AUDITFLOW_STORAGE_URL): the folder backend for file://, the
 * S3 backend for s3://. Every process (worker, gateway, CLI) opens it the same way.
 */
import path from 'node:path';
import type { AuditflowConfig } from './config';
import type { Storage } from './storage';
import type * as S3Backend from './storage-s3';
import { createFileStorage } from './storage-file';

/** The storage of this configuration. */
export function openStorage(config: Pick<AuditflowConfig, 'storage' | 'dataDir'>): Storage {
  const s = config.storage;
  if (s.kind === 'file') return createFileStorage(s.root);
  // Required here, not imported at the top: the AWS SDK takes a third of a second to load, and a CLI
  // command on the folder backend should not pay for it.
  const { createS3Storage } = require('./storage-s3') as typeof S3Backend;
  return createS3Storage({ ...s, spoolDir: path.join(config.dataDir, 'tmp') });
}
