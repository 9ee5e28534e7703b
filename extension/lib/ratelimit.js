// A token bucket that keeps the agent under the server's frame rate (20 per second sustained,
// bursts of 200) with room to spare.

export class TokenBucket {
  constructor(ratePerSecond = 15, burst = 100, nowMs = Date.now()) {
    this.rate = ratePerSecond;
    this.burst = burst;
    this.tokens = burst;
    this.updatedAt = nowMs;
  }

  /** Milliseconds to wait before one frame may go (0 when it may go now); takes the token when it may. */
  take(nowMs = Date.now()) {
    this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.updatedAt) / 1000) * this.rate);
    this.updatedAt = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }
}
