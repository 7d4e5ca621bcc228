// WriteBatch: each socket's bytes go out whole and in the order it wrote them, whatever other
// sockets write in between and however much a turn holds; nothing goes out before the turn ends
// but what must (a large write, a full arena, an ending socket).
import { expect, test } from "bun:test";
import { MAX_HELD_WRITE, WriteBatch } from "./write-batch.ts";

/** A sink recording each write as the text it got. */
function sink(): { writes: string[]; writeOut(bytes: Uint8Array, start: number, end: number): void } {
  const writes: string[] = [];
  return { writes, writeOut: (bytes, start, end) => void writes.push(Buffer.from(bytes.subarray(start, end)).toString("latin1")) };
}
const turnEnds = () => new Promise<void>((resolve) => setImmediate(resolve));

test("one write per socket per turn: a socket's runs join, another socket's write in between splits them in order", async () => {
  const a = sink();
  const b = sink();
  const batchA = new WriteBatch(a);
  const batchB = new WriteBatch(b);
  batchA.holdText("a1");
  batchA.hold(Buffer.from("xa2x"), 1, 3);
  batchB.holdText("b1");
  batchA.holdText("a3");
  expect(a.writes).toEqual(["a1a2"]);
  await turnEnds();
  expect(a.writes).toEqual(["a1a2", "a3"]);
  expect(b.writes).toEqual(["b1"]);
  await turnEnds();
  expect(a.writes).toEqual(["a1a2", "a3"]);
});

test("a turn holding more than the arena: every socket's bytes arrive whole and in order", async () => {
  const sinks = Array.from({ length: 50 }, () => sink());
  const batches = sinks.map((each) => new WriteBatch(each));
  const expected: string[] = sinks.map(() => "");
  for (let round = 0; round < 4; round++) {
    batches.forEach((batch, i) => {
      const piece = `${i}:${round}:`.padEnd(2000 + ((i * 7919 + round) % 3000), String.fromCharCode(97 + ((i + round) % 26)));
      expected[i] += piece;
      expect(batch.holdText(piece)).toBe(true);
    });
  }
  await turnEnds();
  sinks.forEach((each, i) => expect(each.writes.join("")).toBe(expected[i]!));
});

test("too large to hold: false, and what was held goes out first", () => {
  const a = sink();
  const batch = new WriteBatch(a);
  batch.holdText("held");
  expect(batch.hold(new Uint8Array(MAX_HELD_WRITE + 1), 0, MAX_HELD_WRITE + 1)).toBe(false);
  expect(batch.holdText("x".repeat(MAX_HELD_WRITE + 1))).toBe(false);
  expect(a.writes).toEqual(["held"]);
  expect(batch.hold(new Uint8Array(MAX_HELD_WRITE), 0, MAX_HELD_WRITE)).toBe(true);
});

test("release writes at once and only once; drop forgets", async () => {
  const a = sink();
  const batch = new WriteBatch(a);
  batch.holdText("one");
  batch.release();
  batch.release();
  expect(a.writes).toEqual(["one"]);
  batch.holdText("two");
  batch.drop();
  await turnEnds();
  expect(a.writes).toEqual(["one"]);
});

test("a write made while the held bytes go out (a socket's callback) goes out at once, after that socket's held bytes", async () => {
  const late = sink();
  const lateBatch = new WriteBatch(late);
  const first = {
    writes: [] as string[],
    writeOut(bytes: Uint8Array, start: number, end: number) {
      first.writes.push(Buffer.from(bytes.subarray(start, end)).toString("latin1"));
      // As a close callback run by a failed write might: another socket writes now.
      expect(lateBatch.holdText("late")).toBe(false);
    },
  };
  new WriteBatch(first).holdText("first");
  lateBatch.holdText("held ");
  await turnEnds();
  expect(first.writes).toEqual(["first"]);
  expect(late.writes).toEqual(["held "]);
});
