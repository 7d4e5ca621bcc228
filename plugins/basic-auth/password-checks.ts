// Password checks waiting their turn. Each is an argon2id verification, tens of milliseconds of
// a core on Bun's worker threads; wrong passwords and unknown usernames cost one each (the
// latter so as not to tell which names exist), so a client could otherwise queue as many as it
// sends, and every core's time with them. At most one check runs per core and a bounded number
// wait; past that the request is refused at once (503) instead of joining the queue.
export const RUNNING_MAX = Math.max(1, navigator.hardwareConcurrency);
/** Checks that may wait beside those running: about a second of work per core. */
export const WAITING_MAX = 32 * RUNNING_MAX;

let running = 0;
const waiting: (() => void)[] = [];

function release(): void {
  running--;
  const next = waiting.shift();
  if (next) {
    running++;
    next();
  }
}

/** Whether `password` matches `hash`; null, without checking, when WAITING_MAX checks already wait. */
export function checkPassword(password: string, hash: string | Promise<string>): Promise<boolean> | null {
  if (running >= RUNNING_MAX && waiting.length >= WAITING_MAX) return null;
  const turn =
    running < RUNNING_MAX
      ? (running++, Promise.resolve())
      : new Promise<void>((resolve) => waiting.push(resolve));
  return turn.then(async () => {
    try {
      return await Bun.password.verify(password, await hash);
    } catch {
      return false;
    } finally {
      release();
    }
  });
}

/** For tests: checks running and waiting. */
export function pendingChecks(): { running: number; waiting: number } {
  return { running, waiting: waiting.length };
}
