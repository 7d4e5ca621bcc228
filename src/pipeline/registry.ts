// A set of plugin definitions by name. Which plugins a build ships is plugins/index.ts, handed
// in by the composition root: nothing under src/ names a plugin.
import type { PluginDefinition } from "./contract.ts";

export type PluginRegistry = ReadonlyMap<string, PluginDefinition<any>>;

export function createRegistry(definitions: PluginDefinition<any>[]): PluginRegistry {
  return new Map(definitions.map((definition) => [definition.name, definition]));
}
