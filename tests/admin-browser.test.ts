// Swagger UI in a real headless Chromium: /docs on a real listener renders the operations with
// no request leaving the machine, an operation expands on click, and a screenshot is kept in
// tests/artifacts/. Without an admin token, "Try it out" still creates a consumer, while a page
// of another loopback origin, or of a name rebound to 127.0.0.1, creates none. Chromium is
// Debian's package; installed here when missing and running as root, otherwise the tests are
// skipped with the reason.
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
// An admin API without a token, as `gateway serve` runs on loopback by default.
let open: AdminHarness;
let openListener: Awaited<ReturnType<typeof listenAdmin>>;
// Another site's page: 127.0.0.2 is another host to a browser, so another site, still loopback.
let attacker: ReturnType<typeof Bun.serve> | undefined;
let browser: Browser | undefined;
// Chromium resolves this name to 127.0.0.1 and asks no DNS server: a name already rebound.
const REBOUND = "rebound.test";

beforeAll(async () => {
  if (skipReason) return;
  // With a token set, to show the documentation still loads without it.
  admin = openAdmin({ adminToken: "browser-test-token" });
  listener = await listenAdmin(admin);
  open = openAdmin();
  openListener = await listenAdmin(open);
  attacker = Bun.serve({ hostname: "127.0.0.2", port: 0, fetch: () => new Response(attackPage(openListener.base), { headers: { "content-type": "text/html; charset=utf-8" } }) });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--host-resolver-rules=MAP ${REBOUND} 127.0.0.1`,
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await listener?.server.stop(1000);
  await openListener?.server.stop(1000);
  await attacker?.stop(true);
  admin?.close();
  open?.close();
});

/** What a malicious page would try: simple (preflight-free) writes, a CORS write, a form post. */
function attackPage(admin: string): string {
  return `<!DOCTYPE html>
<html><body>
<iframe name="sink"></iframe>
<form id="form" method="POST" action="${admin}/consumers" target="sink"><input name="username" value="evil-form"></form>
<script>
  (async () => {
    const quiet = (promise) => promise.catch(() => undefined);
    await quiet(fetch("${admin}/consumers", { method: "POST", mode: "no-cors", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "username=evil" }));
    await quiet(fetch("${admin}/consumers", { method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body: '{"username":"evil-text"}' }));
    await quiet(fetch("${admin}/consumers", { method: "POST", headers: { "content-type": "application/json" }, body: '{"username":"evil-cors"}' }));
    document.querySelector("iframe").addEventListener("load", () => (document.title = "done"));
    document.getElementById("form").submit();
  })();
</script>
</body></html>`;
}

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
    await page.waitForSelector(".opblock-tag", { timeout: 15_000 });
    expect(await page.textContent(".title")).toContain("gateway admin API");
    // Tags start collapsed (docExpansion "none": Swagger UI 5 stops rendering with all ~135
    // operations open at once). Each tag, opened alone, lists every operation the document has.
    const doc = (await admin.call("GET", "/docs/json")).body as { tags: { name: string }[]; paths: Record<string, Record<string, { tags: string[] }>> };
    const byTag = new Map<string, number>();
    for (const operations of Object.values(doc.paths)) for (const operation of Object.values(operations)) byTag.set(operation.tags[0]!, (byTag.get(operation.tags[0]!) ?? 0) + 1);
    expect(await page.locator(".opblock-tag").count()).toBe(doc.tags.length);
    let rendered = 0;
    for (const tag of doc.tags) {
      const header = page.locator(`#operations-tag-${tag.name}`);
      await header.click();
      const section = page.locator(`.opblock-tag-section:has(#operations-tag-${tag.name}) .opblock`);
      await section.first().waitFor({ state: "visible", timeout: 5_000 });
      const count = await section.count();
      expect([tag.name, count]).toEqual([tag.name, byTag.get(tag.name)!]);
      rendered += count;
      await header.click();
    }
    expect(rendered).toBe([...byTag.values()].reduce((a, b) => a + b, 0));
    expect(rendered).toBeGreaterThan(100);

    await page.locator("#operations-tag-consumers").click();
    const createConsumer = page.locator("#operations-consumers-createConsumer");
    await createConsumer.locator(".opblock-summary-control").click();
    await createConsumer.locator(".opblock-body").waitFor({ state: "visible", timeout: 10_000 });
    // The body is visible before Swagger UI has filled it in: wait for its parts, not a time.
    await createConsumer.locator(".opblock-body .responses-wrapper").waitFor({ state: "visible", timeout: 10_000 });
    await createConsumer.locator(".opblock-body", { hasText: "Request body" }).waitFor({ state: "visible", timeout: 10_000 });
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

test.skipIf(Boolean(skipReason))(
  "without a token, Swagger UI's Try it out creates a consumer: Chromium sends the page's own Origin and Sec-Fetch-Site: same-origin",
  async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 1400 } });
    const sent: Record<string, string>[] = [];
    page.on("request", async (request) => {
      if (request.method() === "POST") sent.push(await request.allHeaders());
    });
    await page.goto(`${openListener.base}/docs#/consumers/createConsumer`, { waitUntil: "domcontentloaded" });
    const createConsumer = page.locator("#operations-consumers-createConsumer");
    await createConsumer.locator(".try-out__btn").click();
    await createConsumer.locator("textarea.body-param__text").fill('{"username": "from-swagger-ui"}');
    await createConsumer.locator("button.execute").click();
    const status = createConsumer.locator(".live-responses-table tr.response .response-col_status");
    await status.waitFor({ state: "visible", timeout: 10_000 });
    expect((await status.innerText()).trim()).toBe("201");
    expect(open.core.store.loadAll().consumers.map((c) => c.username)).toEqual(["from-swagger-ui"]);
    expect(sent.map((headers) => [headers.origin, headers["sec-fetch-site"]])).toEqual([[openListener.base, "same-origin"]]);
    await page.close();
  },
  30_000,
);

test.skipIf(Boolean(skipReason))(
  "without a token, another site's page (fetch no-cors, CORS, a form post) gets 403s and creates no consumer",
  async () => {
    const before = open.core.store.loadAll().consumers.map((c) => c.username);
    const page = await browser!.newPage();
    const answered: [string, number][] = [];
    page.on("response", (response) => {
      if (response.url().startsWith(openListener.base)) answered.push([response.request().method(), response.status()]);
    });
    await page.goto(`http://127.0.0.2:${attacker!.port}/`);
    await page.waitForFunction("document.title === 'done'", undefined, { timeout: 10_000 });
    // Every request that reached the admin API was refused (a CORS preflight, if Chromium sent one, too).
    expect(answered.length).toBeGreaterThanOrEqual(3);
    expect(answered.filter(([, status]) => status !== 403)).toEqual([]);
    const sink = page.frame({ name: "sink" })!;
    expect(JSON.parse(await sink.innerText("body")).message).toStartWith("Forbidden: a request from another site's web page");
    expect(open.core.store.loadAll().consumers.map((c) => c.username)).toEqual(before);
    await page.close();
  },
  30_000,
);

test.skipIf(Boolean(skipReason))(
  "without a token, a page on a name rebound to 127.0.0.1 reads the docs but its same-origin write is a 403 naming DNS rebinding",
  async () => {
    const before = open.core.store.loadAll().consumers.map((c) => c.username);
    const page = await browser!.newPage();
    const rebound = `http://${REBOUND}:${openListener.server.port}`;
    await page.goto(`${rebound}/docs`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector(".opblock-tag", { timeout: 15_000 });
    // The rebinding page's own script: same-origin to the browser, so it could read the answer.
    const reply = await page.evaluate(async () => {
      const response = await fetch("/consumers", { method: "POST", headers: { "content-type": "application/json" }, body: '{"username":"rebound"}' });
      return { status: response.status, body: (await response.json()) as { message: string } };
    });
    expect(reply.status).toBe(403);
    expect(reply.body.message).toStartWith(`Forbidden: Host '${REBOUND}:${openListener.server.port}' is not a loopback name`);
    expect(open.core.store.loadAll().consumers.map((c) => c.username)).toEqual(before);
    await page.close();
  },
  30_000,
);
