// The supervisor of `gateway serve --workers N`: starts N proxy workers (child processes of this
// executable), restarts one that dies with backoff while the others keep serving, forwards
// configuration to them in declarative mode, writes the stdout log lines they send, sums their
// counters for /metrics, reports them in /status, and drains them all on shutdown.
import type { TargetHealthRow } from "../balancer/metrics.ts";
import type { Subprocess } from "bun";
import type { WorkerPool, WorkerStatus } from "../admin/deps.ts";
import type { Address } from "../cli/command.ts";
import { Metrics } from "../metrics.ts";
import type { AccessLog } from "../proxy/access-log.ts";
import type { StateData } from "../state/data.ts";
import { type ConfigMessage, type FromWorker, type ToWorker, type WorkerReport, type WorkerSetup, WORKER_FLAG, runningExecutable, selfInvocation } from "./ipc.ts";

const START_TIMEOUT_MS = 15_000;
const COLLECT_TIMEOUT_MS = 1000;
/** How long an admin write waits for the workers to serve it before it answers anyway. */
const APPLY_TIMEOUT_MS = 2000;
const FIRST_RESTART_MS = 100;
const MAX_RESTART_MS = 10_000;
/** A worker that served this long before dying restarts after the shortest delay again. */
const STABLE_AFTER_MS = 10_000;

/**
 * The port the workers will share. Bound once without SO_REUSEPORT and released: so a port
 * someone else holds is refused (a SO_REUSEPORT bind would silently share it with them), and
 * port 0 becomes one concrete free port for every worker.
 */
export function reservePort(address: Address): number {
  const probe = Bun.listen({ hostname: address.hostname, port: address.port, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

export interface SupervisorOptions {
  count: number;
  /** The proxy port in `setup` must be a concrete one (every worker binds it with SO_REUSEPORT). */
  setup: WorkerSetup;
  /** Declarative mode: the stored state a worker starts from. Absent: workers read the database. */
  state?: () => StateData;
  /** The supervisor's own events (worker exits and restarts). */
  log: AccessLog;
  /** Where the stdout log batches of workers go. */
  stdout: (text: string) => void;
  /** The command that starts a worker; default: this executable. */
  command?: string[];
}

/** One process of a worker slot, from spawn to exit. */
interface Run {
  child: Subprocess<"ignore", "ignore", "inherit">;
  ready: boolean;
  readyAt: number;
  failure?: string;
  last?: WorkerReport;
  collects: Map<number, (report: WorkerReport | undefined) => void>;
  /** Configuration messages sent and not yet acknowledged, by seq. */
  applies: Map<number, () => void>;
  exited: Promise<void>;
  /** How the process ended, once it has. */
  exit?: string;
  disconnected?: boolean;
  done?: boolean;
  /** Resolves `exited`: the process is gone and every message it sent was handled. */
  markExited: () => void;
  started: { resolve: () => void; reject: (error: Error) => void };
}

interface Slot {
  id: number;
  run?: Run;
  state: WorkerStatus["state"];
  restarts: number;
  /** Deaths in a row without a stable run in between: the backoff exponent. */
  failures: number;
  lastExit: string | null;
  timer?: ReturnType<typeof setTimeout>;
}

export class Supervisor implements WorkerPool {
  private readonly slots: Slot[];
  /** What the processes that have exited had counted, so totals never go down on a restart. */
  private readonly retired = new Metrics();
  private started = false;
  private stopping = false;
  private seq = 0;
  /** Configuration changes still on their way to the workers. */
  private readonly propagating = new Set<Promise<void>>();

  constructor(private readonly options: SupervisorOptions) {
    this.slots = Array.from({ length: options.count }, (_, i) => ({ id: i + 1, state: "starting" as const, restarts: 0, failures: 0, lastExit: null }));
  }

  /** Starts every worker; rejects with the first one's reason if any cannot start (the others are stopped). */
  async start(): Promise<void> {
    try {
      await Promise.all(this.slots.map((slot) => this.launch(slot)));
    } catch (error) {
      await this.stop(0);
      throw error;
    }
    this.started = true;
  }

  pids(): number[] {
    return this.slots.flatMap((slot) => (slot.run ? [slot.run.child.pid] : []));
  }

  /** Declarative mode: every worker replaces its state with this one. */
  pushState(state: StateData): void {
    this.propagate({ type: "state", seq: ++this.seq, state });
  }

  /** Database mode: the supervisor has seen a change (its own write, or its poll); workers look now. */
  syncAll(): void {
    this.propagate({ type: "sync", seq: ++this.seq });
  }

  /** Database mode SIGHUP: every worker rebuilds from the database, changed or not. */
  reloadAll(): void {
    this.propagate({ type: "reload", seq: ++this.seq });
  }

  /**
   * Resolves once every running worker serves the changes sent so far (or after 2 s): the admin
   * API answers a write only then, so a client that gets the answer finds it on every worker.
   */
  settled(): Promise<void> {
    return this.propagating.size === 0 ? Promise.resolve() : Promise.all([...this.propagating]).then(() => {});
  }

  async metrics(): Promise<{ worker: string; metrics: Metrics }[]> {
    await this.collect();
    const sets = this.slots.flatMap((slot) => (slot.run?.last ? [{ worker: String(slot.id), metrics: Metrics.from(slot.run.last.metrics) }] : []));
    return [...sets, { worker: "exited", metrics: this.retired }];
  }

  async targetHealth(): Promise<{ worker: string; rows: TargetHealthRow[] }[]> {
    await this.collect();
    return this.slots.flatMap((slot) => (slot.run?.ready && slot.run.last?.targets ? [{ worker: String(slot.id), rows: slot.run.last.targets }] : []));
  }

  setTargetHealth(upstreamId: string, targetId: string, healthy: boolean): void {
    this.propagate({ type: "health", seq: ++this.seq, upstream: upstreamId, target: targetId, healthy });
  }

  async status(): Promise<WorkerStatus[]> {
    await this.collect();
    return this.slots.map((slot) => {
      const run = slot.run;
      const report = run?.ready ? run.last : undefined;
      return {
        id: slot.id,
        pid: run?.child.pid ?? null,
        state: slot.state,
        started_at: run?.ready ? Math.floor(run.readyAt / 1000) : null,
        restarts: slot.restarts,
        last_exit: slot.lastExit,
        config_version: report?.configVersion ?? null,
        config_digest: report?.configDigest ?? null,
        in_flight: report?.inFlight ?? null,
        rss_bytes: report?.rssBytes ?? null,
      };
    });
  }

  /** SIGTERM to every worker (each drains as a single process does); SIGKILL to any left after the grace period. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const runs: Run[] = [];
    for (const slot of this.slots) {
      clearTimeout(slot.timer);
      if (slot.run) {
        slot.state = "stopping";
        runs.push(slot.run);
        slot.run.child.kill("SIGTERM");
      } else slot.state = "stopped";
    }
    const all = Promise.all(runs.map((run) => run.exited));
    // A worker exits within its drain timeout plus a second on its own; the rest is slack.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = await Promise.race([all.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs + 2000)))]);
    clearTimeout(timer);
    if (late) {
      for (const run of runs) run.child.kill("SIGKILL");
      await all;
    }
  }

  /**
   * Sends a change to every worker process, also those still starting (they apply it before they
   * listen), and waits for the running ones to acknowledge it.
   */
  private propagate(message: ConfigMessage): void {
    const acknowledged: Promise<void>[] = [];
    for (const slot of this.slots) {
      const run = slot.run;
      if (!run || run.child.exitCode !== null || run.child.signalCode !== null) continue;
      try {
        run.child.send(message);
      } catch {
        // The process is going; its exit restarts it with the current state.
        continue;
      }
      if (run.ready) acknowledged.push(new Promise<void>((resolve) => run.applies.set(message.seq, resolve)));
    }
    if (acknowledged.length === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done: Promise<void> = Promise.race([Promise.all(acknowledged).then(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, APPLY_TIMEOUT_MS)))]).then(() => {
      clearTimeout(timer);
      this.propagating.delete(done);
    });
    this.propagating.add(done);
  }

  /** Asks every ready worker for a fresh report; one that does not answer within a second keeps its last. */
  private async collect(): Promise<void> {
    const seq = ++this.seq;
    await Promise.all(
      this.slots.map((slot) => {
        const run = slot.run;
        if (!run?.ready) return;
        return new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            run.collects.delete(seq);
            resolve();
          }, COLLECT_TIMEOUT_MS);
          run.collects.set(seq, () => {
            clearTimeout(timer);
            resolve();
          });
          try {
            run.child.send({ type: "collect", seq } satisfies ToWorker);
          } catch {
            run.collects.get(seq)?.(undefined);
          }
        });
      }),
    );
  }

  /** Spawns the slot's process; resolves once it listens, rejects with the reason it could not. */
  private launch(slot: Slot): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const command = this.options.command ?? selfInvocation();
    let run: Run | undefined;
    // The program is the running executable; its path as the user started it stays argv[0], what `ps` shows.
    const [program, ...rest] = command;
    const child = Bun.spawn([this.options.command ? program! : runningExecutable(), ...rest, "serve", WORKER_FLAG, String(slot.id)], {
      argv0: program,
      stdin: "ignore",
      // Workers never write stdout themselves: their stdout log batches come over IPC.
      stdout: "ignore",
      stderr: "inherit",
      serialization: "advanced",
      ipc: (message: FromWorker) => run && this.received(slot, run, message),
      // A process is done once it has exited and its channel is closed (no message can follow),
      // in whichever order the two come.
      onExit: (_process, code, signal) => {
        if (!run) return;
        run.exit = signal ? `killed by ${typeof signal === "number" ? `signal ${signal}` : signal}` : `exited with code ${code}`;
        if (run.disconnected) this.exited(slot, run);
      },
      onDisconnect: () => {
        if (!run) return;
        run.disconnected = true;
        if (run.exit) this.exited(slot, run);
      },
    });
    let markExited: () => void = () => {};
    const exited = new Promise<void>((done) => (markExited = done));
    run = {
      child,
      ready: false,
      readyAt: 0,
      collects: new Map(),
      applies: new Map(),
      exited,
      markExited,
      started: { resolve, reject },
    };
    const exitedRun = run;
    // Should the channel's close never be reported, a second after the exit is enough.
    void child.exited.then(() =>
      setTimeout(() => {
        if (exitedRun.done || !exitedRun.exit) return;
        exitedRun.disconnected = true;
        this.exited(slot, exitedRun);
      }, 1000).unref(),
    );
    slot.run = run;
    slot.state = "starting";
    child.send({ type: "init", id: slot.id, setup: this.options.setup, state: this.options.state?.() } satisfies ToWorker);
    const timer = setTimeout(() => {
      if (exitedRun.ready) return;
      exitedRun.failure = `did not start within ${START_TIMEOUT_MS / 1000} s`;
      child.kill("SIGKILL");
    }, START_TIMEOUT_MS);
    return promise.finally(() => clearTimeout(timer));
  }

  private received(slot: Slot, run: Run, message: FromWorker): void {
    switch (message.type) {
      case "log":
        return this.options.stdout(message.text);
      case "ready":
        run.ready = true;
        run.readyAt = Date.now();
        slot.state = this.stopping ? "stopping" : "running";
        if (this.started) this.options.log.event({ level: "info", message: "worker restarted", worker: slot.id, pid: run.child.pid, restarts: slot.restarts });
        return run.started.resolve();
      case "failed":
        run.failure = message.reason;
        return;
      case "applied":
        run.applies.get(message.seq)?.();
        run.applies.delete(message.seq);
        return;
      case "report":
        run.last = message.report;
        run.collects.get(message.seq)?.(message.report);
        run.collects.delete(message.seq);
        return;
    }
  }

  private exited(slot: Slot, run: Run): void {
    if (run.done) return;
    run.done = true;
    run.markExited();
    // The channel is closed, so `last` holds the final counts of this process.
    if (run.last) this.retired.add(run.last.metrics);
    for (const answer of run.collects.values()) answer(undefined);
    run.collects.clear();
    for (const acknowledge of run.applies.values()) acknowledge();
    run.applies.clear();
    const how = run.exit!;
    slot.lastExit = run.failure ? `${run.failure} (${how})` : how;
    run.started.reject(new Error(`worker ${slot.id}: ${run.failure ?? `${how} before it was ready`}`));
    if (slot.run === run) slot.run = undefined;
    // Before the start has succeeded, only a worker that had been serving is restarted; one
    // that could not start fails the start.
    if (this.stopping || (!this.started && !run.ready)) {
      slot.state = "stopped";
      return;
    }
    slot.failures = run.ready && Date.now() - run.readyAt >= STABLE_AFTER_MS ? 0 : slot.failures + 1;
    const delay = Math.min(FIRST_RESTART_MS * 2 ** Math.max(0, slot.failures - 1), MAX_RESTART_MS);
    slot.state = "restarting";
    slot.restarts++;
    this.options.log.event({ level: "error", message: "worker exited; restarting it", worker: slot.id, pid: run.child.pid, exit: slot.lastExit, restart_in_ms: delay });
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (!this.stopping) this.launch(slot).catch(() => {});
    }, delay);
  }
}
