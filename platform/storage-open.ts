/**
 * Opens the storage named by the settings (AUDITFLOW_STORAGE_URL): the folder backend for file://, the
 * S3 backend for s3://. Every process (worker, gateway, CLI) opens it the same way.
 */
import path from 'node:path';
import type { AuditflowConfig } from './config';
import type { Storage } from './storage';
import { createFileStorage } from './storage-file';
import { createS3Storage } from './storage-s3';

/** The storage of this configuration. */
export function openStorage(config: Pick<AuditflowConfig, 'storage' | 'dataDir'>): Storage {
  const s = config.storage;
  if (s.kind === 'file') return createFileStorage(s.root);
  return createS3Storage({ ...s, spoolDir: path.join(config.dataDir, 'tmp') });
}
