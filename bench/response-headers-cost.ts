// What each response header costs Bun.serve to write, apart from any gateway code: a bare server
// answering with 3 headers (`plain`), the same with one header set after construction (`one`),
// or with the six headers jwt + rate-limiting + cors add (`init`). Run two side by side, pinned
// to one core, and compare CPU per request (bench/RESULTS.md, issue 19):
//   taskset -c 1 bun bench/response-headers-cost.ts plain 9721 & taskset -c 1 bun bench/response-headers-cost.ts init 9722 &
const mode = process.argv[2];
const base: [string, string][] = [["content-type", "application/json"], ["server", "nginx"], ["x-request-id", "0609adbd-1ff7-45ae-8eac-41da7baa1ef7"]];
Bun.serve({ port: Number(process.argv[3]), hostname: "127.0.0.1", fetch() {
  if (mode === "init") {
    const h = base.slice(); h.push(["X-RateLimit-Limit-Second", "1000000000"], ["X-RateLimit-Remaining-Second", "999999999"], ["RateLimit-Limit", "1000000000"], ["RateLimit-Remaining", "999999999"], ["RateLimit-Reset", "1"], ["vary", "Origin"]);
    return new Response('{"ok":true,"from":"upstream"}', { headers: h });
  }
  const r = new Response('{"ok":true,"from":"upstream"}', { headers: base });
  if (mode === "one") r.headers.set("vary", "Origin");
  if (mode === "touch") r.headers;
  return r;
}});
