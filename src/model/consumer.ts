// The consumer entity is defined in src/entities/consumer.ts; these names are kept for the modules that import them.
import { consumerEntity } from "../entities/consumer.ts";
import type { Consumer as ConsumerRecord } from "../entities/consumer.ts";
export type Consumer = ConsumerRecord;
export const ConsumerInput = consumerEntity.input;
export const Consumer = consumerEntity.output;
