// Kong's rate-limiting windows: each period's window starts on a UTC boundary (second, minute,
// hour, day, first of the month, first of the year); `RateLimit-Reset` counts down Kong's
// fixed period lengths (a month is 30 days, a year 365) from the window's start.
import { PERIODS, type Period } from "./schema.ts";

/** Kong's EXPIRATION table, in seconds. */
export const PERIOD_SECONDS: Readonly<Record<Period, number>> = {
  second: 1, minute: 60, hour: 3600, day: 86400, month: 2592000, year: 31536000,
};

/** Start of the window containing `now` (ms), by period index in PERIODS. */
export function windowStart(periodIndex: number, now: number): number {
  switch (PERIODS[periodIndex]) {
    case "second": return now - (now % 1000);
    case "minute": return now - (now % 60_000);
    case "hour": return now - (now % 3_600_000);
    case "day": return now - (now % 86_400_000);
    case "month": { const d = new Date(now); return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1); }
    default: return Date.UTC(new Date(now).getUTCFullYear(), 0, 1);
  }
}

/** When the window starting at `start` is over (ms): its counter can be deleted then. */
export function windowEnd(periodIndex: number, start: number): number {
  const period = PERIODS[periodIndex]!;
  if (period === "month") { const d = new Date(start); return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1); }
  if (period === "year") return Date.UTC(new Date(start).getUTCFullYear() + 1, 0, 1);
  return start + PERIOD_SECONDS[period] * 1000;
}

/** Kong's reset: seconds left of the period counted from the window start, at least 1. */
export function resetSeconds(periodIndex: number, start: number, now: number): number {
  return Math.max(1, PERIOD_SECONDS[PERIODS[periodIndex]!] - Math.floor((now - start) / 1000));
}
