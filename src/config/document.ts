// Text of a declarative file → its document. JSON goes to JSON.parse: the YAML parser holds
// about 30 times the text in memory (a 12 MB JSON body took the admin process past 500 MB),
// JSON.parse about once. YAML's rule that a key appears once per mapping is kept for JSON too.
import YAML from "yaml";
import { quote } from "../entities/quote.ts";

/** The first key repeated within one object of a valid JSON text, if any. */
function repeatedKey(text: string): string | undefined {
  const stack: (Set<string> | null)[] = [];
  let expectingKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = text.indexOf('"', i + 1);
      // A quote preceded by an odd number of backslashes is escaped.
      for (;;) {
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++;
        if (backslashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      if (expectingKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes("\\") ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        const keys = stack[stack.length - 1]!;
        if (keys.has(key)) return key;
        keys.add(key);
        expectingKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectingKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectingKey = false;
    } else if (c === 0x2c /* , */) {
      expectingKey = stack[stack.length - 1] !== null;
    }
  }
  return undefined;
}

export function parseDocument(text: string): unknown {
  if (text.trimStart().startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined; // A YAML flow mapping, or broken JSON: YAML's parser says which, with a position.
    }
    if (parsed !== undefined) {
      const repeated = repeatedKey(text);
      if (repeated !== undefined) throw new Error(`Map keys must be unique: ${quote(repeated)} appears twice in one mapping`);
      return parsed;
    }
  }
  return YAML.parse(text, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });
}
