import { ApiError } from './api';

/**
 * What the phone's two outboxes (queue.ts: field photos and findings; patrol-store.ts: patrol findings and
 * records) share: the wait after the n-th failed send, the message a failure shows, and the sender that runs
 * one pass at a time and wakes again when the earliest waiting item is due.
 */

/** 2 s, 5 s, 10 s, 20 s, 40 s, then every minute */
export const backoff = (tries: number) => Math.min(60_000, [2000, 5000, 10_000, 20_000, 40_000][tries - 1] ?? 60_000);

/** the failure as the item shows it, in both languages */
export const failureText = (e: unknown) => (e instanceof ApiError ? { zh: e.message_zh, en: e.message } : { zh: String(e), en: String(e) });

/**
 * The outbox's sync(): `pass` sends what is due. A call while a pass runs asks for one more pass after it
 * (an item queued meanwhile is not left waiting for the timer); after the last pass, `nextDue` names the
 * earliest time an item waits for (none: undefined), and the sender wakes then (no sooner than 1 s).
 */
export function serialSender(pass: () => Promise<void>, nextDue: () => Promise<number | undefined>): () => Promise<void> {
  let running = false;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const sync = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await pass();
      } while (again);
    } finally {
      running = false;
      clearTimeout(timer);
      const next = await nextDue();
      if (next !== undefined) timer = setTimeout(() => void sync(), Math.max(1000, next - Date.now()));
    }
  };
  return sync;
}
