// Per-route plugin chains with Kong's scope precedence, computed once per state change:
// route+service+consumer > route+consumer > service+consumer > route+service > consumer >
// route > service > global. Consumer-scoped choices are looked up at run time with the
// consumer known at that moment, so they apply only to plugins after the one that
// authenticated (Kong's timing).
import type { Plugin } from "../entities/plugin.ts";
import { NO_OWNED_HEADERS, type OwnedHeaders, ownedHeadersOf } from "../proxy/client-headers.ts";
import type { Route } from "../entities/route.ts";
import type { AuthFallback, PluginInstance } from "./contract.ts";
import type { PluginRegistry } from "./registry.ts";

export interface ChainStep {
  readonly name: string;
  readonly priority: number;
  /** The instance for requests without (or before) a consumer. */
  readonly general: PluginInstance | null;
  readonly generalConfig: unknown;
  /** Better-ranked instances for specific consumers. */
  readonly byConsumer: ReadonlyMap<string, PluginInstance> | null;
}

export interface Chain {
  readonly steps: readonly ChainStep[];
  /** The anonymous fallback a plugin of the chain offers (from its general instance), or null. */
  readonly authFallback: AuthFallback | null;
  readonly hasResponsePhase: boolean;
  /**
   * The instances with a response phase, in chain order, when no consumer-scoped instance can
   * change which run (then the access phase need not gather them per request); else null.
   */
  readonly responders: readonly PluginInstance[] | null;
  /** Some instance has a log phase (then each request of the route runs it once answered). */
  readonly hasLogPhase: boolean;
  /** Headers the chain's plugins set upstream beyond the identity headers. */
  readonly ownedHeaders: OwnedHeaders;
}

export const EMPTY_CHAIN: Chain = { steps: [], authFallback: null, hasResponsePhase: false, responders: [], hasLogPhase: false, ownedHeaders: NO_OWNED_HEADERS };

type Rank = number;

/** Rank of a plugin's scope for a route (lower wins), or undefined if it does not apply. */
function rankFor(plugin: Plugin, route: Route): Rank | undefined {
  const onRoute = plugin.route ? plugin.route.id === route.id : null;
  const onService = plugin.service ? plugin.service.id === route.service.id : null;
  if (onRoute === false || onService === false) return undefined;
  const consumer = plugin.consumer !== null;
  if (onRoute && onService) return consumer ? 0 : 3;
  if (onRoute) return consumer ? 1 : 5;
  if (onService) return consumer ? 2 : 6;
  return consumer ? 4 : 7;
}

export function buildChain(
  route: Route,
  plugins: readonly Plugin[],
  registry: PluginRegistry,
  instanceOf: (plugin: Plugin) => PluginInstance,
): Chain {
  const byName = new Map<string, { general?: [Rank, Plugin]; consumers: Map<string, [Rank, Plugin]> }>();
  for (const plugin of plugins) {
    if (!plugin.enabled || !registry.has(plugin.name)) continue;
    const rank = rankFor(plugin, route);
    if (rank === undefined) continue;
    let entry = byName.get(plugin.name);
    if (!entry) byName.set(plugin.name, (entry = { consumers: new Map() }));
    if (plugin.consumer) {
      const best = entry.consumers.get(plugin.consumer.id);
      if (!best || rank < best[0]) entry.consumers.set(plugin.consumer.id, [rank, plugin]);
    } else if (!entry.general || rank < entry.general[0]) {
      entry.general = [rank, plugin];
    }
  }
  const steps: ChainStep[] = [];
  let authFallback: AuthFallback | null = null;
  const owned: string[] = [];
  for (const [name, entry] of byName) {
    const definition = registry.get(name)!;
    const general = entry.general;
    let byConsumer: Map<string, PluginInstance> | null = null;
    for (const [consumerId, [rank, plugin]] of entry.consumers) {
      // A consumer-scoped instance only matters when it outranks the general one.
      if (general && general[0] < rank) continue;
      (byConsumer ??= new Map()).set(consumerId, instanceOf(plugin));
      owned.push(...(definition.ownedHeaders?.(plugin.config) ?? []));
    }
    if (general) owned.push(...(definition.ownedHeaders?.(general[1].config) ?? []));
    if (general && definition.authFallback) authFallback = definition.authFallback(general[1].config);
    steps.push({
      name,
      priority: definition.priority,
      general: general ? instanceOf(general[1]) : null,
      generalConfig: general?.[1].config ?? null,
      byConsumer,
    });
  }
  // Kong: higher priority first, ties by name descending.
  steps.sort((a, b) => b.priority - a.priority || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  const hasPhase = (phase: "response" | "log") =>
    steps.some((step) => step.general?.[phase] !== undefined || [...(step.byConsumer?.values() ?? [])].some((i) => i[phase]));
  const hasResponsePhase = hasPhase("response");
  const hasLogPhase = hasPhase("log");
  const responders = steps.some((step) => step.byConsumer !== null)
    ? null
    : steps.flatMap((step) => (step.general?.response ? [step.general] : []));
  return steps.length ? { steps, authFallback, hasResponsePhase, responders, hasLogPhase, ownedHeaders: ownedHeadersOf(owned) } : EMPTY_CHAIN;
}
