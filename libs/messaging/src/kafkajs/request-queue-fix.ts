/**
 * kafkajs 2.2.4 (pinned; the project is in maintenance) re-arms a timer in every broker
 * connection's RequestQueue forever: with nothing pending and no throttling,
 * scheduleCheckPendingRequests calls setTimeout with a negative delay, i.e. every millisecond
 * (tulios/kafkajs#1556 and #1704; the fix proposed in #1667 is not released). Each connected
 * process woke ~1000 times a second per connection, and on a small host those wake-ups were
 * most of an idle agent's CPU and delayed every other process (bench:rollout, bench:ingest).
 * This replaces the method with the fixed one: a timer only while requests wait, or until a
 * throttle ends. Pushes and completions check the queue themselves, as before.
 */
const RequestQueue = require('kafkajs/src/network/requestQueue') as { prototype: QueueInternals };

/** The members of kafkajs' RequestQueue the fixed method uses. */
interface QueueState {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
}

interface QueueInternals extends QueueState {
  scheduleCheckPendingRequests(): void;
}

/** kafkajs' CHECK_PENDING_REQUESTS_INTERVAL: how soon waiting requests are looked at again. */
const CHECK_PENDING_MS = 10;

export function scheduleCheckPendingRequests(this: QueueState): void {
  if (this.throttleCheckTimeoutId) return;
  const throttledFor = this.throttledUntil - Date.now();
  if (this.pending.length === 0 && throttledFor <= 0) return;
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttledFor > 0 ? throttledFor : CHECK_PENDING_MS,
  );
}

RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
