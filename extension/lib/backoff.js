// Reconnect delays: 1 s doubling to 60 s, plus up to a quarter more at random so a whole school
// coming back online does not reconnect in one instant.

export const INITIAL_DELAY_MS = 1000;
export const MAX_DELAY_MS = 60_000;

/**
 * The delay before reconnect attempt `attempt` (0 for the first after a close).
 * @param {number} attempt
 * @param {() => number} [random] a source of numbers in [0, 1)
 */
export function reconnectDelay(attempt, random = Math.random) {
  const exponent = Math.min(Math.max(0, attempt), 16);
  const base = Math.min(MAX_DELAY_MS, INITIAL_DELAY_MS * 2 ** exponent);
  return Math.round(base + random() * base * 0.25);
}
