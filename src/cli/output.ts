// How entity commands print: an aligned table (lists), `field  value` lines (one entity), or
// JSON with --json for scripts.

export interface Column<T> {
  header: string;
  value(row: T): unknown;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (Array.isArray(value)) return value.length ? value.map(cell).join(",") : "-";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printTable<T>(rows: T[], columns: Column<T>[]): void {
  const cells = rows.map((row) => columns.map((column) => cell(column.value(row))));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: string[]) => `${values.map((value, i) => (i === values.length - 1 ? value : value.padEnd(widths[i]!))).join("  ")}\n`;
  process.stdout.write(line(columns.map((column) => column.header)) + cells.map(line).join(""));
}

/** One entity, one field per line. */
export function printRecord(entity: object): void {
  const entries = Object.entries(entity);
  const width = Math.max(...entries.map(([key]) => key.length));
  // Multi-line values (PEM keys) continue under the value column.
  const indent = `\n${" ".repeat(width + 2)}`;
  process.stdout.write(entries.map(([key, value]) => `${key.padEnd(width)}  ${cell(value).trimEnd().replaceAll("\n", indent)}\n`).join(""));
}
