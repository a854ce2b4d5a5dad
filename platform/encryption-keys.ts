/**
 * The payload encryption keys as the settings give them. Apart from the codec (platform/codec.ts) so that
 * reading the settings does not load Temporal's protobuf definitions (a third of a second).
 */
/** One key: its id (in each payload's metadata) and its 32 bytes. */
export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/**
 * Reads `AUDITFLOW_ENCRYPTION_KEYS`: `<id>:<key>[,<id>:<key>...]`, each key 32 bytes as 64 hex digits or
 * base64 (`openssl rand -hex 32`). The first encrypts. Throws a message naming what is wrong.
 */
export function parseEncryptionKeys(value: string): EncryptionKey[] {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('names no key; write it as <id>:<key>, e.g. k1:$(openssl rand -hex 32)');
  const keys = entries.map((entry, i) => {
    const sep = entry.indexOf(':');
    const id = sep > 0 ? entry.slice(0, sep) : '';
    const text = sep > 0 ? entry.slice(sep + 1) : '';
    if (!/^[A-Za-z0-9._-]{1,40}$/.test(id))
      throw new Error(`key ${i + 1} must be written <id>:<key> with an id of letters, digits, . _ - (e.g. k1:...)`);
    const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
    if (key.length !== 32 || (!/^[0-9a-fA-F]{64}$/.test(text) && key.toString('base64') !== text))
      throw new Error(`key "${id}" must be 32 bytes, as 64 hex digits or base64 (try: openssl rand -hex 32)`);
    return { id, key };
  });
  const ids = keys.map((k) => k.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice) throw new Error(`key id "${twice}" is given twice`);
  return keys;
}
