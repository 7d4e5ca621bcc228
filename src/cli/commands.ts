// Every command of the CLI, in the order `gateway help` lists them.
import { aclCommand } from "./acl.ts";
import { caCertificateCommand } from "./ca-certificate.ts";
import { certCommand } from "./cert.ts";
import type { Command } from "./command.ts";
import { configCommand } from "./config.ts";
import { consumerCommand } from "./consumer.ts";
import { demoCommand } from "./demo.ts";
import { jwtCommand } from "./jwt.ts";
import { keygenCommand } from "./keygen.ts";
import { migrateCommand } from "./migrate.ts";
import { pluginCommand } from "./plugin.ts";
import { proxyCommand } from "./proxy.ts";
import { routeCommand } from "./route.ts";
import { serveCommand } from "./serve.ts";
import { serviceCommand } from "./service.ts";
import { signCommand } from "./sign.ts";
import { targetCommand, upstreamCommand } from "./upstream.ts";
import { verifyCommand } from "./verify.ts";

export const commands: Command[] = [
  serveCommand,
  demoCommand,
  keygenCommand,
  signCommand,
  verifyCommand,
  consumerCommand,
  jwtCommand,
  aclCommand,
  serviceCommand,
  routeCommand,
  upstreamCommand,
  targetCommand,
  caCertificateCommand,
  pluginCommand,
  proxyCommand,
  certCommand,
  configCommand,
  migrateCommand,
];
