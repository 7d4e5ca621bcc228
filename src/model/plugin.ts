// The plugin entity is defined in src/entities/plugin.ts; these names are kept for the modules that import them.
import { pluginEntity } from "../entities/plugin.ts";
import type { Plugin as PluginRecord } from "../entities/plugin.ts";
export type Plugin = PluginRecord;
export { type PluginScope, checkPluginConfig, scopeKey } from "../entities/plugin.ts";
export const PluginInput = pluginEntity.input;
export const Plugin = pluginEntity.output;
