// The release as a user gets it. `deploy/release.ts` builds every target once into a temporary
// directory; SHA256SUMS verifies with sha256sum; the macOS and Windows executables are checked by
// their headers (and macOS page hashes against their signature); every Linux executable runs the
// same smoke test — version, keygen, sign, verify, and serve a declarative jwt route — natively,
// or under qemu-user: arm64, and baseline x64 on a CPU model without AVX2. The systemd unit passes
// `systemd-analyze verify`. Missing qemu or systemd: a loud skip locally, a failure under CI
// (.ci/run installs them).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { RELEASE_TARGETS, ROOT, type ReleaseTarget } from "../deploy/build.ts";
import { signAdHoc } from "../deploy/macho.ts";
import { artifactName } from "../deploy/release.ts";
import { runCli, spawnServe, type ServeProcess } from "./support/binary.ts";
import { readExecutableFormat } from "./support/executable-format.ts";
import { type Echo, type TestUpstream, startUpstream } from "./support/upstream.ts";

const AARCH64_SYSROOT = "/usr/aarch64-linux-gnu";
const QEMU_AARCH64 = Bun.which("qemu-aarch64");
const QEMU_X86_64 = Bun.which("qemu-x86_64");
const SYSTEMD_ANALYZE = Bun.which("systemd-analyze");
const hasAarch64Libc = existsSync(join(AARCH64_SYSROOT, "lib/ld-linux-aarch64.so.1"));
// Building six executables takes 10-20 s here, fetching the runtimes once about as long again.
const BUILD_TIMEOUT_MS = 240_000;
// One CLI command under qemu takes 1-2 s.
const STEP_TIMEOUT_MS = 60_000;

interface Requirement {
  present: boolean;
  missing: string;
}

/** `describe` that needs tools: without them a loud skip locally, a failing test under CI. */
function describeWith(requirements: Requirement[], name: string, fn: () => void): void {
  const missing = requirements.filter((r) => !r.present).map((r) => r.missing);
  if (missing.length === 0) return describe(name, fn);
  const reason = `${missing.join("; ")}: "${name}" cannot run`;
  if (process.env.CI) {
    return describe(name, () => {
      test("its tools are installed", () => {
        throw new Error(`${reason}, but CI is set (.ci/run installs them)`);
      });
    });
  }
  console.warn(`\n*** ${reason}: SKIPPING ***\n`);
  describe.skip(name, fn);
}

const qemuAarch64: Requirement = { present: QEMU_AARCH64 !== null && hasAarch64Libc, missing: "qemu-aarch64 or the arm64 C library missing (apt-get install qemu-user libc6-arm64-cross)" };
const qemuX86: Requirement = { present: QEMU_X86_64 !== null, missing: "qemu-x86_64 missing (apt-get install qemu-user)" };
const systemd: Requirement = { present: SYSTEMD_ANALYZE !== null, missing: "systemd-analyze missing (apt-get install systemd)" };

let workDir = "";
let releaseDir = "";
let releaseCommit = "";
const target = (name: string): ReleaseTarget => RELEASE_TARGETS.find((t) => t.name === name)!;
const artifact = (name: string) => join(releaseDir, artifactName(target(name)));

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "gateway-release-test-"));
  releaseDir = join(workDir, "release");
  const build = Bun.spawn([process.execPath, join(ROOT, "deploy/release.ts"), "--out", releaseDir], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(build.stdout).text(), new Response(build.stderr).text(), build.exited]);
  if (code !== 0) throw new Error(`release build failed (exit ${code}): ${stderr}${stdout}`);
  releaseCommit = /- commit: `([^`]+)`/.exec(readFileSync(join(releaseDir, "RELEASE.md"), "utf8"))?.[1] ?? "";
}, BUILD_TIMEOUT_MS);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe("release directory", () => {
  test("one executable per target named gateway-<version>-<target>[.exe], SHA256SUMS and RELEASE.md", () => {
    const expected = [
      ...["linux-x64", "linux-x64-baseline", "linux-arm64", "darwin-x64", "darwin-arm64"].map((t) => `gateway-${pkg.version}-${t}`),
      `gateway-${pkg.version}-windows-x64.exe`,
      "SHA256SUMS",
      "RELEASE.md",
    ];
    expect(readdirSync(releaseDir).sort()).toEqual(expected.sort());
  });

  test("SHA256SUMS verifies with sha256sum -c, one OK per executable", async () => {
    const check = Bun.spawn(["sha256sum", "-c", "SHA256SUMS"], { cwd: releaseDir, stdout: "pipe", stderr: "pipe" });
    const [stdout, code] = await Promise.all([new Response(check.stdout).text(), check.exited]);
    expect(code).toBe(0);
    expect(stdout.trim().split("\n").sort()).toEqual(RELEASE_TARGETS.map((t) => `${artifactName(t)}: OK`).sort());
  });

  test("RELEASE.md names the version, the commit, Bun's version, and each file's size and checksum", () => {
    const notes = readFileSync(join(releaseDir, "RELEASE.md"), "utf8");
    expect(notes).toContain(`# gateway ${pkg.version}`);
    expect(releaseCommit).toMatch(/^([0-9a-f]{7,}(-dirty)?|unknown)$/);
    expect(notes).toContain(`Bun: ${Bun.version}`);
    for (const line of readFileSync(join(releaseDir, "SHA256SUMS"), "utf8").trim().split("\n")) {
      const [sha256, name] = line.split("  ");
      const size = `${(Bun.file(join(releaseDir, name!)).size / 1e6).toFixed(1)} MB`;
      expect(notes).toContain(`| \`${name}\` |`);
      expect(notes).toMatch(new RegExp(`\\| \`${name!.replaceAll(".", "\\.")}\` \\|.*\\| ${size} \\| \`${sha256}\` \\|`));
    }
  });

  test.each([
    ["linux-x64", "ELF", "x64", "/lib64/ld-linux-x86-64.so.2"],
    ["linux-x64-baseline", "ELF", "x64", "/lib64/ld-linux-x86-64.so.2"],
    ["linux-arm64", "ELF", "arm64", "/lib/ld-linux-aarch64.so.1"],
    ["darwin-x64", "Mach-O", "x64", "execute"],
    ["darwin-arm64", "Mach-O", "arm64", "execute"],
    ["windows-x64", "PE32+", "x64", "console"],
  ])("%s: %s for %s (%s), carrying the release's commit", async (name, format, arch, kind) => {
    const bytes = Buffer.from(await Bun.file(artifact(name)).arrayBuffer());
    const found = readExecutableFormat(bytes);
    expect({ format: found.format as string, arch: found.arch as string, kind: found.kind }).toEqual({ format, arch, kind });
    // The commit is baked into the bundle as a string: the app is in there, not a bare runtime.
    expect(bytes.indexOf(`"${releaseCommit}"`)).toBeGreaterThan(0);
  });

  test("macOS executables: every page matches their ad-hoc signature (or macOS kills the process)", async () => {
    for (const name of ["darwin-x64", "darwin-arm64"]) {
      const { signature } = readExecutableFormat(Buffer.from(await Bun.file(artifact(name)).arrayBuffer()));
      expect({ name, signed: signature?.signed, badPages: signature?.badPages, valid: signature?.valid }).toEqual({ name, signed: true, badPages: 0, valid: true });
    }
  });

  test("the signer release.ts falls back on writes what Bun writes: re-signing Bun's darwin-arm64 output reproduces it byte for byte", async () => {
    const bytes = Buffer.from(await Bun.file(artifact("darwin-arm64")).arrayBuffer());
    const { signature } = readExecutableFormat(bytes);
    expect(signature?.identifier).toBe("a.out"); // Bun's own signature, not one release.ts replaced
    expect(signAdHoc(bytes, "a.out").equals(bytes)).toBe(true);
  });

  test("Windows executable: the app in its .bun section, no stale certificate from Bun's signed runtime", async () => {
    const found = readExecutableFormat(Buffer.from(await Bun.file(artifact("windows-x64")).arrayBuffer()));
    expect(found.sections).toContain(".bun");
    expect(found.certificate).toBe(false);
  });
});

/** How a Linux executable is started: natively, or through a qemu-user wrapper script. */
interface Runner {
  target: string;
  label: string;
  requirements: Requirement[];
  /** The qemu command line before the executable; empty: run natively. */
  emulator: () => string[];
  /**
   * Under qemu-user one process: the supervisor's workers are the same executable exec'd again,
   * which the kernel cannot run without binfmt_misc (not set up here, nor in CI containers).
   */
  workers: string;
}

const RUNNERS: Runner[] = [
  { target: "linux-x64", label: "natively", requirements: [], emulator: () => [], workers: "2" },
  { target: "linux-x64-baseline", label: "natively", requirements: [], emulator: () => [], workers: "2" },
  // Nehalem (2008): SSE4.2, no AVX. qemu raises SIGILL for an AVX2 instruction on this model.
  { target: "linux-x64-baseline", label: "under qemu-x86_64 -cpu Nehalem (no AVX2)", requirements: [qemuX86], emulator: () => [QEMU_X86_64!, "-cpu", "Nehalem"], workers: "1" },
  { target: "linux-arm64", label: "under qemu-aarch64", requirements: [qemuAarch64], emulator: () => [QEMU_AARCH64!, "-L", AARCH64_SYSROOT], workers: "1" },
];

for (const runner of RUNNERS) {
  describeWith(runner.requirements, `${runner.target} ${runner.label}: smoke test`, () => {
    let cwd = "";
    let executable = "";
    let upstream: TestUpstream;
    let serve: ServeProcess | undefined;
    let token = "";
    const cli = (...args: string[]) => runCli(executable, args, { cwd });

    beforeAll(() => {
      cwd = mkdtempSync(join(workDir, "smoke-"));
      const emulator = runner.emulator();
      executable = artifact(runner.target);
      if (emulator.length > 0) {
        // A wrapper, so the helpers that spawn an executable run it under qemu unchanged; exec
        // keeps one process, so signals reach qemu, which passes them on.
        executable = join(cwd, "gateway");
        writeFileSync(executable, `#!/bin/sh\nexec ${[...emulator, artifact(runner.target)].map((a) => `'${a}'`).join(" ")} "$@"\n`, { mode: 0o755 });
      }
      upstream = startUpstream();
    });
    afterAll(async () => {
      await serve?.stop("SIGKILL");
      await upstream?.stop();
    });

    test("--version and version --json name the version, the commit and the target", async () => {
      const line = await cli("--version");
      expect(line).toMatchObject({ code: 0, stderr: "" });
      expect(line.stdout).toBe(`gateway ${pkg.version} (commit ${releaseCommit}, ${runner.target}, bun ${Bun.version})\n`);
      const json = await cli("version", "--json");
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({ version: pkg.version, commit: releaseCommit, target: runner.target, bun: Bun.version });
    }, STEP_TIMEOUT_MS);

    test("keygen --alg ES256 writes a PKCS#8 key (0600) and its SPKI public key", async () => {
      const result = await cli("keygen", "--alg", "ES256", "--out", join(cwd, "smoke"));
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^kid: \S+/);
      expect(readFileSync(join(cwd, "smoke.key"), "utf8")).toStartWith("-----BEGIN PRIVATE KEY-----");
      expect(readFileSync(join(cwd, "smoke.pub"), "utf8")).toStartWith("-----BEGIN PUBLIC KEY-----");
      expect(statSync(join(cwd, "smoke.key")).mode & 0o777).toBe(0o600);
    }, STEP_TIMEOUT_MS);

    test("sign makes an ES256 token that verify accepts; a changed signature exits 1", async () => {
      const signed = await cli("sign", "--key", join(cwd, "smoke.key"), "--iss", "smoke-issuer", "--sub", "alice");
      expect(signed.code).toBe(0);
      token = signed.stdout.trim();
      expect(token.split(".")).toHaveLength(3);
      const verified = await cli("verify", token, "--key", join(cwd, "smoke.pub"));
      expect(verified.code).toBe(0);
      expect(verified.stdout).toContain("signature: valid (ES256)");
      const last = token.at(-2) === "A" ? "B" : "A";
      const tampered = await cli("verify", `${token.slice(0, -2)}${last}${token.at(-1)}`, "--key", join(cwd, "smoke.pub"));
      expect(tampered.code).toBe(1);
    }, STEP_TIMEOUT_MS);

    test(`serve --config --workers ${runner.workers}: the jwt route proxies with the token (200) and refuses without it (401)`, async () => {
      const config = join(cwd, "kong.yml");
      const publicKey = readFileSync(join(cwd, "smoke.pub"), "utf8");
      writeFileSync(
        config,
        `_format_version: "3.0"
services:
  - name: echo
    url: ${upstream.url}
    routes:
      - name: smoke
        paths: [/smoke]
        plugins:
          - name: jwt
consumers:
  - username: alice
    jwt_secrets:
      - key: smoke-issuer
        algorithm: ES256
        rsa_public_key: |
${publicKey.trim().split("\n").map((l) => `          ${l}`).join("\n")}
`,
      );
      serve = await spawnServe(executable, ["--config", config, "--access-log", "off", "--workers", runner.workers], { cwd });
      const allowed = await fetch(`${serve.proxyUrl}/smoke/hello`, { headers: { authorization: `Bearer ${token}` } });
      expect(allowed.status).toBe(200);
      const echo = (await allowed.json()) as Echo;
      expect(echo.path).toBe("/hello");
      expect(echo.headers["x-consumer-username"]).toBe("alice");
      const refused = await fetch(`${serve.proxyUrl}/smoke/hello`);
      expect(refused.status).toBe(401);
      expect(await serve.stop()).toBe(0);
    }, STEP_TIMEOUT_MS);
  });
}

describeWith([systemd], "deploy/gateway.service", () => {
  test("systemd-analyze verify: no errors and no warnings (the unit as shipped, the release binary at its ExecStart)", async () => {
    // An alternate root holding the system's own units, the binary where the unit expects it,
    // and the unit in /etc: verify then checks the file exactly as shipped, unknown keys included
    // (it reports those on stderr and still exits 0, so stderr must be empty too).
    const root = mkdtempSync(join(workDir, "systemd-root-"));
    const units = existsSync("/usr/lib/systemd/system") ? "/usr/lib/systemd/system" : "/lib/systemd/system";
    cpSync(units, join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(root, "usr/local/bin"), { recursive: true });
    linkSync(artifact("linux-x64"), join(root, "usr/local/bin/gateway"));
    // ExecReload runs the shell's `kill`.
    mkdirSync(join(root, "bin"), { recursive: true });
    cpSync(realpathSync("/bin/sh"), join(root, "bin/sh"));
    mkdirSync(join(root, "etc/systemd/system"), { recursive: true });
    cpSync(join(ROOT, "deploy/gateway.service"), join(root, "etc/systemd/system/gateway.service"));
    const run = async (...args: string[]) => {
      const child = Bun.spawn([SYSTEMD_ANALYZE!, ...args, `--root=${root}`, "gateway.service"], { stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      return { code, stdout, stderr };
    };
    expect(await run("verify")).toEqual({ code: 0, stdout: "", stderr: "" });
    // Exposure on systemd's 0-10 scale (shown as 1.5 today): fail past 2.0.
    const security = await run("security", "--offline=yes", "--threshold=20");
    expect(security.code).toBe(0);
    expect(security.stdout).toMatch(/Overall exposure level for gateway\.service: [01]\.\d/);
  }, STEP_TIMEOUT_MS);

  test("its own user, NoNewPrivileges, ProtectSystem=strict, a StateDirectory, no capabilities unless uncommented", () => {
    const active = readFileSync(join(ROOT, "deploy/gateway.service"), "utf8")
      .split("\n")
      .filter((line) => line && !line.startsWith("#"));
    for (const setting of ["DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=gateway", "CapabilityBoundingSet="]) {
      expect(active).toContain(setting);
    }
    expect(active.filter((line) => line.startsWith("AmbientCapabilities="))).toEqual([]);
    expect(active).toContain("ExecStart=/usr/local/bin/gateway serve");
  });
});

const python = Bun.which("python3");
(python ? describe : describe.skip)("deploy/local.gateway.plist", () => {
  test("a property list launchd can read: label, program, and every path absolute once __HOME__ is replaced", async () => {
    const child = Bun.spawn([python!, "-c", "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))", join(ROOT, "deploy/local.gateway.plist")], { stdout: "pipe", stderr: "pipe" });
    const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    expect(code).toBe(0);
    const plist = JSON.parse(stdout.replaceAll("__HOME__", "/Users/someone"));
    expect(plist).toMatchObject({ Label: "local.gateway", ProgramArguments: ["/usr/local/bin/gateway", "serve"], RunAtLoad: true });
    for (const path of [plist.WorkingDirectory, plist.StandardOutPath, plist.StandardErrorPath, plist.EnvironmentVariables.GATEWAY_DB]) expect(path).toStartWith("/Users/someone/");
  });
});
if (!python) console.warn("\n*** python3 missing: SKIPPING the launchd plist check ***\n");
