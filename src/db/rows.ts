// Converts between entity models (Kong JSON shape: `service: {id}`) and table rows (`service_id`).
import type { Acl } from "../model/acl.ts";
import type { Consumer } from "../model/consumer.ts";
import type { JwtCredential } from "../model/jwt-credential.ts";
import type { KeyRecord } from "../model/key.ts";
import { type Plugin, scopeKey } from "../model/plugin.ts";
import type { Route } from "../model/route.ts";
import type { Service } from "../model/service.ts";
import type * as schema from "./schema.ts";

type Row<T extends { $inferSelect: unknown }> = T["$inferSelect"];
const ref = (id: string | null) => (id ? { id } : null);

export const serviceRow = (s: Service): Row<typeof schema.services> => ({ ...s });
export const serviceFromRow = (r: Row<typeof schema.services>): Service => ({ ...r, protocol: r.protocol as Service["protocol"] });

export const routeRow = ({ service, ...rest }: Route): Row<typeof schema.routes> => ({ ...rest, service_id: service.id });
export const routeFromRow = ({ service_id, ...rest }: Row<typeof schema.routes>): Route => ({
  ...rest,
  protocols: rest.protocols as Route["protocols"],
  service: { id: service_id as string },
});

export const consumerRow = (c: Consumer): Row<typeof schema.consumers> => ({ ...c });
export const consumerFromRow = (r: Row<typeof schema.consumers>): Consumer => ({ ...r });

export const jwtRow = ({ consumer, ...rest }: JwtCredential): Row<typeof schema.jwtSecrets> => ({ ...rest, consumer_id: consumer.id });
export const jwtFromRow = ({ consumer_id, ...rest }: Row<typeof schema.jwtSecrets>): JwtCredential => ({
  ...rest,
  algorithm: rest.algorithm as JwtCredential["algorithm"],
  algorithms: rest.algorithms as JwtCredential["algorithms"],
  consumer: { id: consumer_id },
});

export const aclRow = ({ consumer, ...rest }: Acl): Row<typeof schema.acls> => ({ ...rest, consumer_id: consumer.id });
export const aclFromRow = ({ consumer_id, ...rest }: Row<typeof schema.acls>): Acl => ({ ...rest, consumer: { id: consumer_id } });

export const pluginRow = ({ service, route, consumer, ...rest }: Plugin): Row<typeof schema.plugins> => {
  const scope = { service: service?.id ?? null, route: route?.id ?? null, consumer: consumer?.id ?? null };
  return { ...rest, service_id: scope.service, route_id: scope.route, consumer_id: scope.consumer, scope_key: scopeKey(rest.name, scope) };
};
export const pluginFromRow = ({ service_id, route_id, consumer_id, scope_key: _, ...rest }: Row<typeof schema.plugins>): Plugin => ({
  ...rest,
  service: ref(service_id),
  route: ref(route_id),
  consumer: ref(consumer_id),
});

export const keyRow = (k: KeyRecord): Row<typeof schema.keys> => ({ ...k });
export const keyFromRow = (r: Row<typeof schema.keys>): KeyRecord => ({
  ...r,
  alg: r.alg as KeyRecord["alg"],
  status: r.status as KeyRecord["status"],
});
