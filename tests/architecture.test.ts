// The import graph of src/ and plugins/ (type imports included): dependencies point down, so
// nothing under src/ names a plugin except the composition root, no production module imports
// test support, and there are no import cycles.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = join(import.meta.dir, "..");
const COMPOSITION_ROOT = "src/gateway.ts";
const IMPORT = /(?:^|[\n;])\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"/g;

function sources(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...sources(path));
    else if (path.endsWith(".ts") && !path.endsWith(".d.ts")) found.push(path);
  }
  return found;
}

const isTest = (file: string) => file.endsWith(".test.ts");
const files = [...sources(join(ROOT, "src")), ...sources(join(ROOT, "plugins"))].map((file) => relative(ROOT, file));
/** Relative imports of each module, as paths from the repository root. */
const graph = new Map<string, string[]>(
  files.map((file) => {
    const text = readFileSync(join(ROOT, file), "utf8");
    const targets = [...text.matchAll(IMPORT)].map((m) => m[1]!).filter((spec) => spec.startsWith("."));
    return [file, targets.map((spec) => relative(ROOT, resolve(dirname(join(ROOT, file)), spec)))];
  }),
);

/** Strongly connected components of more than one module (Tarjan), over production modules. */
function cycles(): string[][] {
  const production = new Map([...graph].filter(([file]) => !isTest(file)));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (file: string) => {
    index.set(file, next);
    low.set(file, next++);
    stack.push(file);
    onStack.add(file);
    for (const target of production.get(file) ?? []) {
      if (!production.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!));
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const file of production.keys()) if (!index.has(file)) visit(file);
  return found;
}

describe("import graph", () => {
  test(`nothing under src/ imports from plugins/ except ${COMPOSITION_ROOT}`, () => {
    const upward = [...graph].flatMap(([file, targets]) =>
      file.startsWith("src/") && file !== COMPOSITION_ROOT && !isTest(file) ? targets.filter((t) => t.startsWith("plugins/")).map((t) => `${file} → ${t}`) : [],
    );
    expect(upward).toEqual([]);
  });

  test("no production module imports test support", () => {
    const intoTests = [...graph].flatMap(([file, targets]) => (isTest(file) ? [] : targets.filter((t) => t.startsWith("tests/")).map((t) => `${file} → ${t}`)));
    expect(intoTests).toEqual([]);
  });

  test("a plugin imports no other plugin", () => {
    const pluginOf = (file: string) => (file.startsWith("plugins/") ? file.split("/")[1] : null);
    const across = [...graph].flatMap(([file, targets]) => {
      const own = pluginOf(file);
      if (!own || file === "plugins/index.ts" || isTest(file)) return [];
      return targets.filter((t) => pluginOf(t) !== null && pluginOf(t) !== own).map((t) => `${file} → ${t}`);
    });
    expect(across).toEqual([]);
  });

  test("no import cycles", () => {
    expect(cycles()).toEqual([]);
  });

  test("the graph is read: the composition root imports the plugin list", () => {
    expect(graph.get(COMPOSITION_ROOT)).toContain("plugins/index.ts");
    expect(files.length).toBeGreaterThan(50);
  });
});
