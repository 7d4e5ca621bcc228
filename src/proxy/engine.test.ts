// Which engine a gateway runs: the flag, else GATEWAY_PROXY_ENGINE (empty is unset), else raw.
import { afterEach, expect, test } from "bun:test";
import { UsageError } from "../errors.ts";
import { DEFAULT_PROXY_ENGINE, chosenProxyEngine } from "./engine.ts";

const saved = process.env.GATEWAY_PROXY_ENGINE;
afterEach(() => {
  if (saved === undefined) delete process.env.GATEWAY_PROXY_ENGINE;
  else process.env.GATEWAY_PROXY_ENGINE = saved;
});

test("raw is the default, with the variable unset or empty", () => {
  expect(DEFAULT_PROXY_ENGINE).toBe("raw");
  delete process.env.GATEWAY_PROXY_ENGINE;
  expect(chosenProxyEngine()).toBe("raw");
  process.env.GATEWAY_PROXY_ENGINE = "";
  expect(chosenProxyEngine()).toBe("raw");
});

test("the variable chooses when no flag does; the flag wins over it", () => {
  process.env.GATEWAY_PROXY_ENGINE = "serve";
  expect(chosenProxyEngine()).toBe("serve");
  expect(chosenProxyEngine("raw")).toBe("raw");
});

test("an unknown name, or an empty flag, is a usage error naming the flag", () => {
  process.env.GATEWAY_PROXY_ENGINE = "fast";
  expect(() => chosenProxyEngine()).toThrow(new UsageError("--proxy-engine fast: expected serve or raw"));
  expect(() => chosenProxyEngine("")).toThrow(new UsageError("--proxy-engine : expected serve or raw"));
});
