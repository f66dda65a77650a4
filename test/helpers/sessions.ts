import { Secret, type StoredSession } from '../../src/zero-rtt/index.js';

/** A stored session whose ticket is the text `label`, for ticket store tests. */
export const session = (label: string, expiresAt = Date.now() + 60_000): StoredSession => ({
  session: new Secret(Buffer.from(label), 'session ticket'),
  expiresAt,
  settings: { maxFieldSectionSize: 65_536, qpackMaxTableCapacity: 0, qpackBlockedStreams: 0 },
});

/** The label a stored session was made with. */
export const label = (stored: StoredSession | undefined): string | undefined =>
  stored === undefined ? undefined : Buffer.from(stored.session.reveal()).toString();
