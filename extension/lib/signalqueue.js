// Safety signals waiting for the server's signalsAck. Signals gather in an open batch (at most 50);
// a batch is sealed when it is sent and kept, with its number, until the ack for that number comes.
// After a reconnect every unacknowledged batch is sent again, unchanged (the server skips a signal
// it already holds as evidence, so a resend is harmless). Kept in storage across service-worker stops. Bounded: at
// most 20 batches; beyond that the oldest goes.

export const MAX_BATCHES = 20;
export const MAX_SIGNALS_PER_BATCH = 50;
// Batch numbers are 1 to 2^53 (the protocol's range); JavaScript counts exactly up to 2^53 - 1.
const LAST_BATCH_NUMBER = Number.MAX_SAFE_INTEGER;

export class SignalQueue {
  /**
   * @param {{ nextBatch?: number, batches?: { batch: number, sealed?: boolean, signals: object[] }[] }} [state] what `toJSON` stored
   * @param {number} [limit] batches kept
   */
  constructor(state, limit = MAX_BATCHES) {
    this.limit = limit;
    this.nextBatch = Number.isSafeInteger(state?.nextBatch) && state.nextBatch > 0 ? state.nextBatch : 1;
    this.batches = Array.isArray(state?.batches)
      ? state.batches
        .filter((b) => Number.isSafeInteger(b?.batch) && b.batch > 0 && Array.isArray(b.signals) && b.signals.length > 0)
        .map((b) => ({ batch: b.batch, sealed: Boolean(b.sealed), signals: b.signals.slice(0, MAX_SIGNALS_PER_BATCH) }))
      : [];
    this.dropped = 0;
  }

  /** Adds a signal to the open batch, opening a new one when there is none or it is full. */
  add(signal) {
    let open = this.batches[this.batches.length - 1];
    if (!open || open.sealed || open.signals.length >= MAX_SIGNALS_PER_BATCH) {
      open = { batch: this.take(), sealed: false, signals: [] };
      this.batches.push(open);
      while (this.batches.length > this.limit) this.dropped += this.batches.shift().signals.length;
    }
    open.signals.push(signal);
  }

  take() {
    const number = this.nextBatch;
    this.nextBatch = number >= LAST_BATCH_NUMBER ? 1 : number + 1;
    return number;
  }

  /** Seals the open batch; returns every unacknowledged batch, oldest first. */
  seal() {
    for (const batch of this.batches) batch.sealed = true;
    return this.batches;
  }

  /** Forgets an acknowledged batch; true when it was waiting. */
  ack(batchNumber) {
    const index = this.batches.findIndex((b) => b.batch === batchNumber);
    if (index < 0) return false;
    this.batches.splice(index, 1);
    return true;
  }

  /** Removes the signals a predicate picks (a setting was switched off); empty batches go too. */
  discard(predicate) {
    let removed = 0;
    for (const batch of this.batches) {
      const kept = batch.signals.filter((s) => !predicate(s));
      removed += batch.signals.length - kept.length;
      batch.signals = kept;
    }
    this.batches = this.batches.filter((b) => b.signals.length > 0);
    return removed;
  }

  /** Signals waiting (sent or not) for their ack. */
  get length() {
    return this.batches.reduce((sum, b) => sum + b.signals.length, 0);
  }

  toJSON() {
    return { nextBatch: this.nextBatch, batches: this.batches };
  }
}
