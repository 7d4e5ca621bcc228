// Fetches a small document (a JWK set) with a deadline and a size cap enforced while reading,
// so a slow or hostile server can neither stall a refresh nor exhaust the gateway's memory.
export interface BoundedFetchOptions {
  timeoutMs: number;
  maxBytes: number;
  /** Refuse redirects where following one could move secrets onto another origin. */
  followRedirects: boolean;
}

export async function fetchBoundedText(url: string, options: BoundedFetchOptions): Promise<string> {
  const response = await fetch(url, {
    headers: { accept: "application/json" },
    signal: AbortSignal.timeout(options.timeoutMs),
    redirect: options.followRedirects ? "follow" : "error",
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const tooLarge = () => new Error(`larger than ${options.maxBytes} bytes`);
  if (Number(response.headers.get("content-length") ?? 0) > options.maxBytes) throw tooLarge();
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > options.maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
