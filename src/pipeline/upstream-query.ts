// The query string the upstream gets, as the plugins of one request edit it (Kong's
// `kong.service.request.set_query`): parsed from the client's on first use, and written out
// only when an edit changed it, so an untouched query reaches the upstream byte for byte.

export class UpstreamQuery {
  private parsed: URLSearchParams | null = null;
  private changed = false;

  /** `clientSearch`: the client's query as received, `?` included (or empty). */
  constructor(private readonly clientSearch: string) {}

  private get params(): URLSearchParams {
    return (this.parsed ??= new URLSearchParams(this.clientSearch));
  }

  has(name: string): boolean {
    return this.params.has(name);
  }

  /** Removes every value of `name`. */
  delete(name: string): void {
    if (!this.params.has(name)) return;
    this.params.delete(name);
    this.changed = true;
  }

  /** Moves the value(s) of `from` to `to`, where they were, dropping what `to` had; nothing when `from` is absent. */
  rename(from: string, to: string): void {
    const params = this.params;
    if (from === to || !params.has(from)) return;
    const renamed = new URLSearchParams();
    for (const [name, value] of params) {
      if (name === from) renamed.append(to, value);
      else if (name !== to) renamed.append(name, value);
    }
    this.parsed = renamed;
    this.changed = true;
  }

  /** `name` with the one value `value`, in the place of its first occurrence (at the end when absent). */
  set(name: string, value: string): void {
    this.params.set(name, value);
    this.changed = true;
  }

  /** One more value of `name`, at the end. */
  append(name: string, value: string): void {
    this.params.append(name, value);
    this.changed = true;
  }

  /** The edited query (`?…`, or empty when no parameter is left), or null when no edit changed the client's. */
  edited(): string | null {
    if (!this.changed) return null;
    const text = this.params.toString();
    return text ? `?${text}` : "";
  }
}
