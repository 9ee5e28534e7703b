// Location fixes taken while the connection is down: kept in storage (the worker may stop) and sent,
// oldest first, as heartbeats when the device is back online. Bounded: beyond the limit the oldest go.

export const MAX_QUEUED_FIXES = 200;

export class FixQueue {
  /** @param {{ fixes?: object[] }} [state] what `toJSON` stored earlier */
  constructor(state, limit = MAX_QUEUED_FIXES) {
    this.limit = limit;
    this.fixes = Array.isArray(state?.fixes) ? state.fixes.filter((f) => Number.isFinite(f?.latitude) && Number.isFinite(f?.longitude)) : [];
    this.dropped = 0;
  }

  add(fix) {
    this.fixes.push(fix);
    if (this.fixes.length > this.limit) {
      const excess = this.fixes.length - this.limit;
      this.fixes.splice(0, excess);
      this.dropped += excess;
    }
  }

  /** Removes and returns every queued fix, oldest first. */
  take() {
    const fixes = this.fixes;
    this.fixes = [];
    return fixes;
  }

  get length() {
    return this.fixes.length;
  }

  toJSON() {
    return { fixes: this.fixes };
  }
}
