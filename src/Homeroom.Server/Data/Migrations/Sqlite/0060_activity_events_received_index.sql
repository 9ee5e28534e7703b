-- Homeroom schema v60 (SQLite): raw activity events are indexed by when they arrived instead of when they happened
-- (issue 15). Events reach the writer hours out of order (a batch holds what a device queued; a transaction holds
-- thousands of devices' batches), so an index on occurred_at took inserts on most of its leaf pages in every
-- transaction: the raw insert ran at about half the rate it reaches without it (docs/performance.md, 2026-12-06).
-- The receive time only grows, so its index takes inserts at its end. The two readers by time (retention, the "who
-- was blocked" report; docs/insights.md) find events that arrived within a day of happening through it, with a day's
-- margin, and the rest, which are few (a device offline for days, or a clock far off before the server clamped events
-- dated ahead), through a partial index of only those. A query must repeat the partial index's condition word for
-- word (ActivityTimeIndexes.OffTime) for SQLite to use it.
DROP INDEX ix_activity_events_occurred_at;
CREATE INDEX ix_activity_events_received_at ON activity_events (received_at);
CREATE INDEX ix_activity_events_off_time ON activity_events (occurred_at) WHERE abs(julianday(received_at) - julianday(occurred_at)) > 1;
