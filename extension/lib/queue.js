// The offline queue of activity events. Every event gets the next per-device sequence number and
// is kept until the server acknowledges it (activityAck, or welcome.activityAckedSeq), so events
// survive network loss and service-worker restarts. Bounded: beyond the limit the oldest go.

export const MAX_QUEUED_EVENTS = 5000;
export const MAX_EVENTS_PER_FRAME = 500;

export class ActivityQueue {
  /**
   * @param {{ nextSeq?: number, events?: object[] }} [state] what `toJSON` stored earlier
   * @param {number} [limit]
   */
  constructor(state, limit = MAX_QUEUED_EVENTS) {
    this.limit = limit;
    this.nextSeq = Number.isInteger(state?.nextSeq) && state.nextSeq > 0 ? state.nextSeq : 1;
    this.events = Array.isArray(state?.events) ? state.events.filter((e) => Number.isInteger(e?.seq)) : [];
    this.dropped = 0;
  }

  /** Adds an event (without `seq`); returns it numbered. */
  add(event) {
    const numbered = { seq: this.nextSeq++, ...event };
    this.events.push(numbered);
    if (this.events.length > this.limit) {
      const excess = this.events.length - this.limit;
      this.events.splice(0, excess);
      this.dropped += excess;
    }
    return numbered;
  }

  /** Forgets every event the server has stored; never reuses a number the server already has. */
  ack(throughSeq) {
    if (!Number.isInteger(throughSeq) || throughSeq < 1) return;
    this.events = this.events.filter((e) => e.seq > throughSeq);
    if (this.nextSeq <= throughSeq) this.nextSeq = throughSeq + 1;
  }

  /** The events after `sentThrough`, in frames of at most 500 events. */
  batchesAfter(sentThrough = 0, size = MAX_EVENTS_PER_FRAME) {
    const pending = this.events.filter((e) => e.seq > sentThrough);
    const batches = [];
    for (let i = 0; i < pending.length; i += size) batches.push(pending.slice(i, i + size));
    return batches;
  }

  get length() {
    return this.events.length;
  }

  toJSON() {
    return { nextSeq: this.nextSeq, events: this.events };
  }
}
