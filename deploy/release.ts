// `npm run release`: one executable per release target in dist/release/, named
// gateway-<version>-<target>[.exe], with SHA256SUMS and RELEASE.md beside them.
//
// Cross-compiling needs Bun's runtime for each target. `bun build --compile --target` would
// fetch it itself from a hard-coded registry.npmjs.org URL into ~/.bun/install/cache; here npm
// fetches the same package (`npm pack`: npm's registry settings and proxy, the tarball checked
// against the registry's integrity hash) into node_modules/.cache/bun-runtimes/, and Bun is
// pointed at it with --compile-executable-path. The runtime's version is the building Bun's.
//
//   bun deploy/release.ts [--out DIR] [--targets linux-x64,linux-arm64,...]
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { parseArgs } from "node:util";
import pkg from "../package.json" with { type: "json" };
import { RELEASE_TARGETS, ROOT, type ReleaseTarget, buildCommit, compile } from "./build.ts";
import { checkSignature, signAdHoc } from "./macho.ts";

export const RUNTIME_CACHE = join(ROOT, "node_modules/.cache/bun-runtimes");

export interface ReleaseArtifact {
  target: ReleaseTarget;
  file: string;
  size: number;
  sha256: string;
  buildMs: number;
  /** macOS only: Bun's signature did not match the pages it had changed, so it was signed again. */
  resigned: boolean;
}

export function artifactName(target: ReleaseTarget, version = pkg.version): string {
  return `gateway-${version}-${target.name}${target.extension}`;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of Bun.file(path).stream()) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * A macOS executable must carry a signature that matches its pages, or the kernel kills it. Bun
 * re-signs its darwin-arm64 output; on darwin-x64 (1.4.5) it keeps the runtime's own signature
 * over bytes it changed. Returns whether the file had to be signed again.
 */
async function ensureValidSignature(file: string): Promise<boolean> {
  const bytes = Buffer.from(await Bun.file(file).arrayBuffer());
  if (checkSignature(bytes).valid) return false;
  const signed = signAdHoc(bytes, "gateway");
  const check = checkSignature(signed);
  if (!check.valid) throw new Error(`${basename(file)}: the new signature does not verify (${check.badPages} pages differ)`);
  await Bun.write(file, signed);
  return true;
}

async function run(argv: string[], cwd: string): Promise<string> {
  const child = Bun.spawn(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")} failed (exit ${code}): ${stderr.trim() || stdout.trim()}`);
  return stdout;
}

/** Bun's runtime executable for `target` at `bunVersion`, fetched with `npm pack` once and cached. */
export async function ensureRuntime(target: ReleaseTarget, bunVersion = Bun.version, cache = RUNTIME_CACHE): Promise<string> {
  const cached = join(cache, `${basename(target.runtimePackage)}-v${bunVersion}${target.extension}`);
  if (existsSync(cached)) return cached;
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(cache, ".fetch-"));
  try {
    await run(["npm", "pack", `${target.runtimePackage}@${bunVersion}`, "--pack-destination", work, "--silent"], work);
    const tarball = readdirSync(work).find((name) => name.endsWith(".tgz"));
    if (!tarball) throw new Error(`npm pack ${target.runtimePackage}@${bunVersion} wrote no tarball`);
    const member = `package/bin/bun${target.extension}`;
    await run(["tar", "-xzf", tarball, member], work);
    chmodSync(join(work, member), 0o755);
    // Renamed into place whole, so a concurrent or interrupted fetch never leaves half a file.
    renameSync(join(work, member), cached);
    return cached;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface ReleaseOptions {
  out: string;
  targets: readonly ReleaseTarget[];
  commit?: string;
  /** One line per finished target. */
  log?: (line: string) => void;
}

export interface Release {
  version: string;
  commit: string;
  bun: string;
  artifacts: ReleaseArtifact[];
  /** Fetching the runtimes (zero when all were cached). */
  fetchMs: number;
}

/** Builds every target into `out` (emptied of earlier gateway-* files first) and writes SHA256SUMS and RELEASE.md. */
export async function buildRelease(options: ReleaseOptions): Promise<Release> {
  const commit = options.commit ?? buildCommit();
  const log = options.log ?? (() => {});
  mkdirSync(options.out, { recursive: true });
  for (const name of readdirSync(options.out)) {
    if (name.startsWith("gateway-") || name === "SHA256SUMS" || name === "RELEASE.md") rmSync(join(options.out, name), { force: true });
  }
  const fetchStart = performance.now();
  const runtimes = await Promise.all(options.targets.map((target) => ensureRuntime(target)));
  const fetchMs = performance.now() - fetchStart;
  const artifacts: ReleaseArtifact[] = [];
  // One at a time: each build is CPU-bound, and the per-target time stays a true figure.
  for (const [i, target] of options.targets.entries()) {
    const file = join(options.out, artifactName(target));
    const start = performance.now();
    await compile({ outfile: file, commit, target, runtime: runtimes[i]! });
    const resigned = target.os === "darwin" && (await ensureValidSignature(file));
    const buildMs = performance.now() - start;
    const artifact = { target, file, size: Bun.file(file).size, sha256: await sha256File(file), buildMs, resigned };
    artifacts.push(artifact);
    log(`${basename(file)}  ${(artifact.size / 1e6).toFixed(1)} MB  ${(buildMs / 1000).toFixed(1)} s${resigned ? "  (signed again, ad hoc)" : ""}`);
  }
  const release: Release = { version: pkg.version, commit, bun: Bun.version, artifacts, fetchMs };
  // sha256sum's format: "<hex>  <name>", run from inside the directory.
  writeFileSync(join(options.out, "SHA256SUMS"), artifacts.map((a) => `${a.sha256}  ${basename(a.file)}\n`).join(""));
  writeFileSync(join(options.out, "RELEASE.md"), releaseNotes(release));
  return release;
}

function releaseNotes(release: Release): string {
  const rows = release.artifacts.map(
    (a) => `| \`${basename(a.file)}\` | ${a.target.os} | ${a.target.arch} | ${(a.size / 1e6).toFixed(1)} MB | \`${a.sha256}\` |`,
  );
  return `# gateway ${release.version}

- commit: \`${release.commit}\`
- Bun: ${release.bun} (the runtime inside every executable)
- built: ${new Date().toISOString().slice(0, 10)}

| file | OS | CPU | size | SHA-256 |
|---|---|---|---|---|
${rows.join("\n")}

Verify a download: \`sha256sum -c --ignore-missing SHA256SUMS\` in the directory holding it.
\`linux-x64\` is built for CPUs with AVX2 (2013 on), \`linux-x64-baseline\` for any x86-64; both
need glibc 2.17 or later (no musl/Alpine build). The macOS executables are signed ad hoc (every
page hashed, no Apple identity, not notarised); the Windows one is not signed.
`;
}

/** A path as the user would type it: relative below the working directory, else absolute. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" ? "." : rel.startsWith("..") ? path : rel;
}

if (import.meta.main) {
  try {
    const { values } = parseArgs({ options: { out: { type: "string" }, targets: { type: "string" } }, strict: true });
    const names = values.targets ? values.targets.split(",").map((name) => name.trim()) : RELEASE_TARGETS.map((t) => t.name);
    const targets = names.map((name) => {
      const found = RELEASE_TARGETS.find((t) => t.name === name);
      if (!found) throw new Error(`unknown target '${name}' (one of ${RELEASE_TARGETS.map((t) => t.name).join(", ")})`);
      return found;
    });
    const out = values.out ?? join(ROOT, "dist/release");
    const commit = buildCommit();
    if (commit.endsWith("-dirty")) process.stderr.write(`release: warning: building uncommitted changes (commit ${commit})\n`);
    const start = performance.now();
    const release = await buildRelease({ out, targets, commit, log: (line) => process.stdout.write(`${line}\n`) });
    const total = ((performance.now() - start) / 1000).toFixed(1);
    process.stdout.write(
      `gateway ${release.version} (commit ${release.commit}, bun ${release.bun}): ${release.artifacts.length} executable(s) in ${shown(out)} in ${total} s (runtimes fetched in ${(release.fetchMs / 1000).toFixed(1)} s)\n`,
    );
  } catch (error) {
    process.stderr.write(`release: ${error instanceof Error ? error.message : error}\n`);
    process.exit(1);
  }
}
