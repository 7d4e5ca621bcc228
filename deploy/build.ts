// The one place the compile flags live. `npm run build` runs this file (an executable for the
// machine it runs on, dist/gateway); deploy/release.ts calls `compile` once per release target.
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..");

export interface ReleaseTarget {
  /** Our name, in the file name and in `gateway --version`. */
  name: string;
  /** Bun's `--target`. */
  bun: string;
  /** The npm package holding Bun's runtime for that target (what Bun itself would download). */
  runtimePackage: string;
  os: "linux" | "darwin" | "windows";
  arch: "x64" | "arm64";
  /** Suffix of the executable's file name. */
  extension: "" | ".exe";
}

const target = (name: string, runtime: string, os: ReleaseTarget["os"], arch: ReleaseTarget["arch"]): ReleaseTarget => ({
  name,
  bun: `bun-${name}`,
  runtimePackage: `@oven/bun-${runtime}`,
  os,
  arch,
  extension: os === "windows" ? ".exe" : "",
});

export const RELEASE_TARGETS: readonly ReleaseTarget[] = [
  target("linux-x64", "linux-x64", "linux", "x64"),
  // CPUs without AVX2 (before Haswell, 2013; some virtual machines hide it).
  target("linux-x64-baseline", "linux-x64-baseline", "linux", "x64"),
  target("linux-arm64", "linux-aarch64", "linux", "arm64"),
  target("darwin-x64", "darwin-x64", "darwin", "x64"),
  target("darwin-arm64", "darwin-aarch64", "darwin", "arm64"),
  target("windows-x64", "windows-x64", "windows", "x64"),
];

/** The release-target name of the machine this runs on (what a plain `bun build --compile` makes). */
export function hostTargetName(): string {
  return `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
}

/** `git rev-parse --short HEAD`, with "-dirty" when tracked files differ from it; "unknown" outside a checkout. */
export function buildCommit(cwd = ROOT): string {
  const git = (...args: string[]) => {
    try {
      const run = Bun.spawnSync(["git", ...args], { cwd, stdout: "pipe", stderr: "ignore" });
      return run.exitCode === 0 ? run.stdout.toString().trim() : null;
    } catch {
      return null; // no git installed
    }
  };
  const head = git("rev-parse", "--short", "HEAD");
  if (!head) return "unknown";
  return git("status", "--porcelain", "--untracked-files=no") ? `${head}-dirty` : head;
}

export interface CompileOptions {
  outfile: string;
  commit: string;
  /** A release target; absent: the machine this runs on, with the running Bun as the runtime. */
  target?: ReleaseTarget;
  /** Bun's runtime executable for `target` (else Bun downloads it itself). */
  runtime?: string;
}

/** Compiles src/main.ts into one executable. Throws with Bun's output when the build fails. */
export async function compile(options: CompileOptions): Promise<void> {
  const targetName = options.target?.name ?? hostTargetName();
  const args = [
    process.execPath,
    "build",
    join(ROOT, "src/main.ts"),
    "--compile",
    "--bytecode",
    "--format=esm",
    "--minify",
    // A gateway started in a stranger's directory must not pick up their files.
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    `--define=GATEWAY_BUILD_COMMIT=${JSON.stringify(options.commit)}`,
    `--define=GATEWAY_BUILD_TARGET=${JSON.stringify(targetName)}`,
    ...(options.target ? [`--target=${options.target.bun}`] : []),
    ...(options.runtime ? [`--compile-executable-path=${options.runtime}`] : []),
    `--outfile=${options.outfile}`,
  ];
  const run = Bun.spawn(args, { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const [stdout, stderr, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
  if (code !== 0) throw new Error(`bun build for ${targetName} failed (exit ${code}):\n${stdout}${stderr}`);
}

if (import.meta.main) {
  const outfile = join(ROOT, "dist/gateway");
  const commit = buildCommit();
  try {
    await compile({ outfile, commit });
    const mb = (Bun.file(outfile).size / 1e6).toFixed(1);
    process.stdout.write(`dist/gateway: ${mb} MB, ${hostTargetName()}, commit ${commit}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : error}\n`);
    process.exit(1);
  }
}
