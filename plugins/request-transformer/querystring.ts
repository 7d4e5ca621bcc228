// request-transformer on the query string, Kong 3.x's transform_querystrings: remove; rename (if
// present); replace (if present); add (if absent); append, on the query as earlier plugins left it
// (a token jwt or key-auth hid is gone already). An item's empty value is Kong's nil: replace
// then removes the parameter, add and append do nothing.
import type { UpstreamQuery } from "../../src/pipeline/upstream-query.ts";
import { type OperationPlan, splitPair } from "../../src/pipeline/header-operations.ts";
import type { RequestTransformerConfig } from "./schema.ts";

/** The config's query operations, or null when it has none (the query is then never parsed). */
export function queryPlan(config: RequestTransformerConfig): OperationPlan | null {
  const pairs = (items: string[] | undefined) => (items ?? []).map(splitPair);
  const plan: OperationPlan = {
    remove: config.remove.querystring ?? [],
    rename: pairs(config.rename.querystring).map(([from, to]) => [from, to.trim()]),
    replace: pairs(config.replace.querystring),
    add: pairs(config.add.querystring).filter(([, value]) => value !== ""),
    append: pairs(config.append.querystring).filter(([, value]) => value !== ""),
  };
  const empty = plan.remove.length + plan.rename.length + plan.replace.length + plan.add.length + plan.append.length === 0;
  return empty ? null : plan;
}

export function applyQueryPlan(query: UpstreamQuery, plan: OperationPlan): void {
  for (const name of plan.remove) query.delete(name);
  for (const [from, to] of plan.rename) query.rename(from, to);
  for (const [name, value] of plan.replace) {
    if (value === "") query.delete(name);
    else if (query.has(name)) query.set(name, value);
  }
  for (const [name, value] of plan.add) if (!query.has(name)) query.append(name, value);
  for (const [name, value] of plan.append) query.append(name, value);
}
