// Commands are delivered at least once: the server resends a command on every new connection
// until it hears a final status. The ledger remembers what the agent did with each command id
// (until the command expires) so a repeat is answered with the earlier result, not carried out again.

export const MAX_REMEMBERED = 2000;
const DEFAULT_KEEP_MS = 7 * 24 * 3600 * 1000;

/**
 * What to do with a command frame.
 * @returns {{ action: 'repeat', entry: object } | { action: 'expired' } | { action: 'run' }}
 */
export function classify(ledger, frame, nowMs) {
  const entry = ledger?.[frame.commandId];
  if (entry && (entry.status === 'succeeded' || entry.status === 'failed')) return { action: 'repeat', entry };
  const expires = Date.parse(frame.expiresAt ?? '');
  if (Number.isFinite(expires) && expires <= nowMs) return { action: 'expired' };
  return { action: 'run' };
}

/** The ledger with one final outcome recorded. */
export function record(ledger, frame, outcome, nowMs) {
  const expires = Date.parse(frame.expiresAt ?? '');
  const keepUntil = Number.isFinite(expires) ? Math.max(expires, nowMs) : nowMs + DEFAULT_KEEP_MS;
  const next = { ...prune(ledger, nowMs) };
  next[frame.commandId] = { ...outcome, keepUntil };
  return next;
}

/** Forgets commands past their expiry, and the oldest beyond the bound. */
export function prune(ledger, nowMs, max = MAX_REMEMBERED) {
  const entries = Object.entries(ledger ?? {}).filter(([, e]) => (e?.keepUntil ?? 0) > nowMs);
  entries.sort((a, b) => a[1].keepUntil - b[1].keepUntil);
  return Object.fromEntries(entries.slice(Math.max(0, entries.length - max)));
}
