// Text of a declarative file → its document. JSON goes to JSON.parse: the YAML parser holds
// about 30 times the text in memory (a 12 MB JSON body took the admin process past 500 MB),
// JSON.parse about once. YAML's rule that a key appears once per mapping is kept for JSON too.
// A YAML text the parser refuses is tried once more with its multi-line quoted strings
// re-indented (reindentQuotedScalars): libyaml, Kong's parser, reads continuation lines of a
// quoted string at any indentation, this parser only deeper than the string's parent.
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
  try {
    return parseYaml(text);
  } catch (error) {
    const reindented = reindentQuotedScalars(text);
    if (reindented === null) throw error;
    try {
      return parseYaml(reindented);
    } catch {
      throw error;
    }
  }
}

const parseYaml = (text: string): unknown => YAML.parse(text, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });

/** Where a scalar may start: after these (and a space, for `:` `-` `?`), or first on its line; after `,` only inside `[ ]` or `{ }`. */
const OPENS_FLOW = new Set(["[", "{"]);
const BEFORE_SCALAR_SPACED = new Set([":", "-", "?"]);
const FLOW_INDICATORS = new Set(["[", "]", "{", "}", ","]);

/** The end of a quoted scalar opened at `start` on this line (the index after its closing quote), or -1. */
function closingQuote(line: string, start: number, quote: string): number {
  for (let i = start; i < line.length; i++) {
    const c = line[i];
    if (quote === '"' && c === "\\") i++;
    else if (c === quote) {
      if (quote === "'" && line[i + 1] === "'") i++;
      else return i + 1;
    }
  }
  return -1;
}

/**
 * The text with each continuation line of a multi-line quoted scalar indented past the line
 * that opened it, or null when there is none to move. Leading white space of a continuation line
 * is folded away, so the values are unchanged. Block scalars and comments are left as they are.
 */
export function reindentQuotedScalars(text: string): string | null {
  const lines = text.split("\n");
  let changed = false;
  let quoted: { quote: string; minIndent: number } | null = null;
  let blockParent = -1;
  let flow = 0;
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!;
    const indent = line.length - line.trimStart().length;
    const blank = line.trim() === "";
    let from = 0;
    if (quoted) {
      if (!blank && indent < quoted.minIndent && !/^(---|\.\.\.)(\s|$)/.test(line)) {
        line = " ".repeat(quoted.minIndent) + line.trimStart();
        lines[n] = line;
        changed = true;
      }
      const end = closingQuote(line, 0, quoted.quote);
      if (end < 0) continue;
      quoted = null;
      from = end;
    } else if (blockParent >= 0) {
      if (blank || indent > blockParent) continue;
      blockParent = -1;
    }
    // The column a block scalar's content must pass: where this line's node starts, after any `- `.
    const node = /^\s*(?:-\s+)*/.exec(line)![0].length;
    for (let i = from; i < line.length; i++) {
      const c = line[i]!;
      if (c === " " || c === "\t" || BEFORE_SCALAR_SPACED.has(c)) continue;
      if (OPENS_FLOW.has(c) || (flow > 0 && FLOW_INDICATORS.has(c))) {
        flow = OPENS_FLOW.has(c) ? flow + 1 : c === "," ? flow : flow - 1;
        continue;
      }
      if (c === "#" && (i === 0 || line[i - 1] === " " || line[i - 1] === "\t")) break;
      const before = line.slice(0, i).trimEnd();
      const last = before[before.length - 1];
      const atScalar = last === undefined || OPENS_FLOW.has(last) || (last === "," && flow > 0) || (BEFORE_SCALAR_SPACED.has(last) && before.length < i);
      if ((c === '"' || c === "'") && atScalar) {
        const end = closingQuote(line, i + 1, c);
        if (end < 0) {
          quoted = { quote: c, minIndent: node + 1 };
          break;
        }
        i = end - 1;
      } else if ((c === "|" || c === ">") && atScalar && /^[|>][-+0-9]*\s*(#.*)?$/.test(line.slice(i))) {
        blockParent = node;
        break;
      } else {
        // A plain scalar or a key: skip to the next place a scalar may start.
        while (i + 1 < line.length && !(line[i + 1] === ":" && /\s|$/.test(line[i + 2] ?? "")) && !(flow > 0 && FLOW_INDICATORS.has(line[i + 1]!)) && !(line[i + 1] === " " && line[i + 2] === "#")) i++;
      }
    }
  }
  return changed ? lines.join("\n") : null;
}
