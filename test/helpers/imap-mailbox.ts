/**
 * The team's mailbox as seen from outside the gateway: delivers raw messages into a folder with IMAP
 * APPEND (as an MTA's local delivery would) and lists which Message-IDs each folder holds.
 */
import { ImapFlow } from 'imapflow';

export interface TestMailbox {
  /** Appends raw bytes to a folder (INBOX by default). */
  deliver(raw: Buffer, folder?: string): Promise<void>;
  /** Message-IDs in a folder, in order; empty when the folder does not exist. */
  ids(folder: string): Promise<string[]>;
  /** Deletes a folder with everything in it. */
  deleteFolder(folder: string): Promise<void>;
  close(): Promise<void>;
}

/** Opens one connection to the mailbox behind an imap:// URL. */
export async function openMailbox(url: string): Promise<TestMailbox> {
  const u = new URL(url);
  const client = new ImapFlow({
    host: u.hostname,
    port: Number(u.port),
    secure: false,
    auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) },
    logger: false,
    disableAutoIdle: true,
  });
  await client.connect();
  return {
    async deliver(raw, folder = 'INBOX') {
      const res = await client.append(folder, raw);
      if (!res) throw new Error(`IMAP APPEND to ${folder} failed`);
    },
    async ids(folder) {
      const list = await client.list();
      if (!list.some((m) => m.path === folder)) return [];
      const lock = await client.getMailboxLock(folder, { readOnly: true });
      try {
        // Without IDLE nothing tells this connection about changes: ask, or `exists` may be stale.
        await client.noop();
        if (!client.mailbox || client.mailbox.exists === 0) return [];
        const out: string[] = [];
        for await (const m of client.fetch('1:*', { envelope: true })) out.push(m.envelope?.messageId ?? '');
        return out;
      } finally {
        lock.release();
      }
    },
    async deleteFolder(folder) {
      await client.mailboxDelete(folder);
    },
    close: () => client.logout().catch(() => undefined),
  };
}
