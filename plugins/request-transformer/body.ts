// request-transformer's body operations, Kong 3.x's transform_body: for a JSON object,
// urlencoded or multipart body of at most MAX_BUFFERED_BODY_BYTES, the body fields are removed,
// renamed, replaced, added and appended as Kong does it per format; values are strings, as in
// Kong. A body of another type, one that does not parse, or one past the bound goes on as sent,
// and so does a body no operation changed.
import { type BodyFields, type BodyFormat, appendedValue, bodyFormatOf, isPresent, parseBodyFields } from "../../src/pipeline/body-fields.ts";
import type { RequestContext } from "../../src/pipeline/contract.ts";
import { type OperationPlan, splitPair } from "../../src/pipeline/header-operations.ts";
import { MAX_BUFFERED_BODY_BYTES } from "../../src/pipeline/request-body.ts";
import type { RequestTransformerConfig } from "./schema.ts";

/** The config's body operations, or null when it has none (its requests never read the body). */
export function bodyPlan(config: RequestTransformerConfig): OperationPlan | null {
  const pairs = (items: string[] | undefined) => (items ?? []).map(splitPair);
  const plan: OperationPlan = {
    remove: (config.remove.body ?? []).map((name) => name.trim()),
    rename: pairs(config.rename.body).map(([from, to]) => [from, to.trim()]),
    replace: pairs(config.replace.body),
    add: pairs(config.add.body),
    append: pairs(config.append.body),
  };
  return Object.values(plan).some((items) => items.length > 0) ? plan : null;
}

/** Kong's removal, renaming and replacement touch only a body that has content; adding and appending also make one. */
function transform(fields: BodyFields, format: BodyFormat, plan: OperationPlan, hadBody: boolean): boolean {
  let changed = false;
  const remove = () => {
    for (const name of plan.remove) {
      if (fields.get(name) === undefined) continue;
      fields.delete(name);
      changed = true;
    }
  };
  const rename = () => {
    for (const [from, to] of plan.rename) {
      const value = fields.get(from);
      if (value === undefined) continue;
      fields.delete(from);
      fields.set(to, value);
      changed = true;
    }
  };
  if (hadBody) {
    // Kong's multipart transform renames before it removes.
    if (format === "multipart") {
      rename();
      remove();
    } else {
      remove();
      rename();
    }
    for (const [name, value] of plan.replace) {
      if (!isPresent(fields.get(name))) continue;
      // A multipart field is replaced by a new part at the end (Kong deletes, then sets).
      if (format === "multipart") fields.delete(name);
      fields.set(name, value);
      changed = true;
    }
  }
  for (const [name, value] of plan.add) {
    if (isPresent(fields.get(name))) continue;
    fields.set(name, value);
    changed = true;
  }
  // Kong's multipart transform has no append.
  if (format !== "multipart") {
    for (const [name, value] of plan.append) {
      fields.set(name, appendedValue(fields.get(name), value));
      changed = true;
    }
  }
  return changed;
}

async function transformRead(ctx: RequestContext, plan: OperationPlan, format: BodyFormat, contentType: string): Promise<undefined> {
  const body = await ctx.readBody(MAX_BUFFERED_BODY_BYTES);
  if (body === null) return undefined;
  const fields = parseBodyFields(format, contentType, body);
  if (fields !== null && transform(fields, format, plan, body.byteLength > 0)) ctx.replaceBody(fields.encode());
  return undefined;
}

/**
 * Applies the plan to the body the client's `contentType` describes (Kong reads the client's,
 * before any header operation). GET and HEAD carry no body upstream, so theirs is left alone.
 */
export function transformBody(ctx: RequestContext, plan: OperationPlan, contentType: string | null): undefined | Promise<undefined> {
  const format = bodyFormatOf(contentType);
  const method = ctx.method;
  if (format === null || method === "GET" || method === "HEAD") return undefined;
  return transformRead(ctx, plan, format, contentType!);
}
