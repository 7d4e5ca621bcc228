// Swagger UI in a real headless Chromium: /docs on a real listener renders the operations with
// no request leaving the machine, an operation expands on click, and a screenshot is kept in
// tests/artifacts/. Chromium is Debian's package; installed here when missing and running as
// root, otherwise the test is skipped with the reason.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { type AdminHarness, listenAdmin, openAdmin } from "./admin-harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(import.meta.dir, "artifacts");

function ensureChromium(): string | null {
  if (existsSync(CHROMIUM)) return null;
  if (process.getuid?.() !== 0) return `${CHROMIUM} is missing and installing it needs root (apt-get install -y chromium)`;
  const install = Bun.spawnSync(["apt-get", "install", "-y", "chromium"], { stdout: "ignore", stderr: "pipe", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (existsSync(CHROMIUM)) return null;
  return `apt-get install -y chromium failed: ${install.stderr.toString().trim().split("\n").pop()}`;
}

const skipReason = ensureChromium();
if (skipReason) console.warn(`skipping the Swagger UI browser test: ${skipReason}`);

let admin: AdminHarness;
let listener: Awaited<ReturnType<typeof listenAdmin>>;
let browser: Browser | undefined;

beforeAll(async () => {
  if (skipReason) return;
  // With a token set, to show the documentation still loads without it.
  admin = openAdmin({ adminToken: "browser-test-token" });
  listener = await listenAdmin(admin);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

afterAll(async () => {
  await browser?.close();
  await listener?.server.stop(1000);
  admin?.close();
});

test.skipIf(Boolean(skipReason))(
  "Swagger UI at /docs renders every operation offline and expands one on click",
  async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 1400 } });
    const outside: string[] = [];
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(listener.base)) return route.continue();
      outside.push(url);
      return route.abort();
    });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));

    await page.goto(`${listener.base}/docs`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector(".opblock", { timeout: 15_000 });
    expect(await page.textContent(".title")).toContain("gateway admin API");
    const operations = await page.locator(".opblock").count();
    expect(operations).toBeGreaterThan(60);

    const createConsumer = page.locator("#operations-consumers-createConsumer");
    await createConsumer.locator(".opblock-summary-control").click();
    await createConsumer.locator(".opblock-body").waitFor({ state: "visible", timeout: 10_000 });
    const body = await createConsumer.locator(".opblock-body").innerText();
    expect(body).toContain("Request body");
    expect(body).toContain("reporting-app");
    expect(body).toContain("409");

    mkdirSync(ARTIFACTS, { recursive: true });
    await createConsumer.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, "admin-docs.png"), fullPage: false });
    expect(existsSync(join(ARTIFACTS, "admin-docs.png"))).toBe(true);

    expect(outside).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  },
  30_000,
);
