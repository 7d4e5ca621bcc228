// The names PHP and qs give a decoded parameter name (tests/security/token-name-spellings.test.ts
// and issue19-red-team.test.ts check them through the gateway).
import { describe, expect, test } from "bun:test";
import { bracketName, phpName, readerNames } from "./parameter-names.ts";

describe("phpName", () => {
  test.each([
    ["jwt", "jwt"],
    ["my.jwt", "my_jwt"],
    ["my jwt", "my_jwt"],
    ["  jwt", "jwt"],
    ["jwt\0x", "jwt"],
    ["jwt[]", "jwt"],
    ["jwt[a][b]", "jwt"],
    ["my[jwt", "my_jwt"],
    ["[jwt]", ""],
  ])("%j → %j", (name, read) => {
    expect(phpName(name)).toBe(read);
  });
});

describe("bracketName", () => {
  test.each([
    ["[jwt]", "jwt"],
    ["[jwt]x", "jwt"],
    ["]jwt", "jwt"],
    ["[[jwt]]", "jwt"],
    ["jwt", null],
    ["filter[jwt]", null],
  ])("%j → %j", (name, read) => {
    expect(bracketName(name)).toBe(read);
  });
});

test("readerNames: a plain name is only itself; others add PHP's and qs's", () => {
  expect(readerNames("is_admin")).toEqual(["is_admin"]);
  expect(readerNames("is.admin")).toEqual(["is.admin", "is_admin"]);
  expect(readerNames("[is_admin]")).toEqual(["[is_admin]", "", "is_admin"]);
});
