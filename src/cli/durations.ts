// Durations on the command line: Go's syntax for EdgeX's `--expiration` (`1h`, `90m`, `1h30m`,
// `1.5h`), and the same plus days and plain seconds for `sign --exp/--nbf` (`7d`, `3600`).
import { UsageError } from "../errors.ts";

const GO_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, "μs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
const SIGN_UNITS: Record<string, number> = { ...GO_UNITS, d: 86400 };
const COMPONENT = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/y;

/** Parses a sequence of `<number><unit>` (optionally signed) into seconds, or null. */
function parseUnits(text: string, units: Record<string, number>): number | null {
  const sign = text.startsWith("-") ? -1 : 1;
  const body = text.replace(/^[-+]/, "");
  if (body === "0") return 0;
  if (!body) return null;
  let seconds = 0;
  COMPONENT.lastIndex = 0;
  while (COMPONENT.lastIndex < body.length) {
    const at = COMPONENT.lastIndex;
    const match = COMPONENT.exec(body);
    if (!match || match.index !== at) return null;
    const unit = units[match[2]!];
    if (unit === undefined) return null;
    seconds += Number(match[1]) * unit;
  }
  return sign * seconds;
}

/** EdgeX's `--expiration` (Go's time.ParseDuration), in whole seconds. */
export function parseGoDuration(text: string, flag: string): number {
  const seconds = parseUnits(text, GO_UNITS);
  if (seconds === null) throw new UsageError(`${flag}: expected a Go duration such as 1h, 90m or 1h30m, got '${text}'`);
  return Math.trunc(seconds);
}

/** `sign --exp/--nbf`: plain seconds (`3600`) or units up to days (`30s`, `10m`, `1h`, `7d`, `1h30m`). */
export function parseDuration(text: string, flag: string): number {
  const seconds = /^[-+]?\d+$/.test(text) ? Number(text) : parseUnits(text, SIGN_UNITS);
  if (seconds === null || !Number.isSafeInteger(Math.trunc(seconds))) {
    throw new UsageError(`${flag}: expected a duration such as 30s, 10m, 1h, 7d or seconds (3600), got '${text}'`);
  }
  return Math.trunc(seconds);
}

/** "59m 58s", "23h 59m", "3d 2h": for telling people when a token expires. */
export function formatSeconds(total: number): string {
  const seconds = Math.abs(Math.round(total));
  const parts: [number, string][] = [
    [Math.floor(seconds / 86400), "d"],
    [Math.floor((seconds % 86400) / 3600), "h"],
    [Math.floor((seconds % 3600) / 60), "m"],
    [seconds % 60, "s"],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  if (first === -1) return "0s";
  return parts
    .slice(first, first + 2)
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value}${unit}`)
    .join(" ");
}
