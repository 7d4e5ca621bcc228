// What this executable is: the package version, and the commit and target that deploy/build.ts
// bakes in with `bun build --define`. Run from source, the commit reads "source".
import pkg from "../package.json" with { type: "json" };

// Replaced by string literals at build time; undeclared (typeof → "undefined") when run from source.
declare const GATEWAY_BUILD_COMMIT: string | undefined;
declare const GATEWAY_BUILD_TARGET: string | undefined;

export const VERSION: string = pkg.version;

/** The short commit hash the binary was built from ("-dirty" with uncommitted changes), "unknown" outside a checkout, "source" when not compiled. */
export const COMMIT: string = typeof GATEWAY_BUILD_COMMIT === "string" ? GATEWAY_BUILD_COMMIT : "source";

/** The release target (`linux-arm64`, `windows-x64`, …); from source, the platform Bun runs on. */
export const TARGET: string = typeof GATEWAY_BUILD_TARGET === "string" ? GATEWAY_BUILD_TARGET : `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;

export interface VersionInfo {
  version: string;
  commit: string;
  target: string;
  bun: string;
}

export function versionInfo(): VersionInfo {
  return { version: VERSION, commit: COMMIT, target: TARGET, bun: Bun.version };
}

/** One line for `gateway --version`: support requests quote it whole. */
export function versionLine(info: VersionInfo = versionInfo()): string {
  return `gateway ${info.version} (commit ${info.commit}, ${info.target}, bun ${info.bun})`;
}
