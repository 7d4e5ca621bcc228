// The baseline the gateway is measured against: the smallest possible Bun forwarding proxy.
// Env: PORT, UPSTREAM.
const upstream = process.env.UPSTREAM ?? "http://127.0.0.1:9001";
Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT),
  fetch(request) {
    const url = request.url;
    const path = url.slice(url.indexOf("/", url.indexOf("//") + 2));
    return fetch(upstream + path, { method: request.method, headers: request.headers, body: request.body });
  },
});
