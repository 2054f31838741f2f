/**
 * The Redis connection of a coordinator or a worker, made to outlive Redis restarts. BullMQ relies
 * on ioredis to reconnect (its production guide: no per-request retry cap, commands wait in the
 * offline queue, a retry strategy that never gives up); this module adds what an operator needs
 * to see: one line when Redis goes away and one when it is back, instead of a stack trace per
 * connection and attempt, and a way for the coordinator to give up after a long outage.
 */
import { EventEmitter } from "node:events";
import { Redis, type RedisOptions } from "ioredis";
import { SmapfillError } from "../util/errors.js";

/** How often a lost connection is tried again (ms): short, so a restarted Redis is found at once. */
export const RECONNECT_MS = 1000;

const URL_HINT = "Give redis://HOST:PORT/DB, e.g. redis://127.0.0.1:6379/0";

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SmapfillError(`'${url}' is not a Redis URL`, { variable: "--queue", hint: URL_HINT });
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
    throw new SmapfillError(`'${url}' is not a Redis URL`, { variable: "--queue", hint: URL_HINT });
}

/** The URL without its password, for messages. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

export interface RedisLinkOptions {
  /** Where the outage lines go (default: stderr, even under --quiet: they are warnings). */
  warn?: (message: string) => void;
  /** What goes on while Redis is away, for the message ("the run waits", "this worker waits"). */
  waiting?: string;
}

/**
 * One process's view of one Redis: its connection (every BullMQ object made from it duplicates
 * it with the same options), whether Redis is reachable, and since when it is not.
 */
export class RedisLink extends EventEmitter {
  /** Since when Redis has been unreachable (ms since the epoch), or undefined while it is up. */
  awaySince: number | undefined;
  private lastReason = "";
  private closing = false;

  private constructor(
    readonly url: string,
    readonly client: Redis,
    private readonly o: RedisLinkOptions,
  ) {
    super();
    this.watch(client);
    // Every 'ready' after the first is a reconnection: Redis may have restarted without its data.
    client.on("ready", () => this.closing || this.ready());
  }

  /**
   * Connects (a Redis that cannot be reached at the start is an error: a wrong host or port
   * should not look like an outage), then keeps reconnecting for as long as the process runs.
   */
  static async open(url: string, o: RedisLinkOptions = {}): Promise<RedisLink> {
    checkUrl(url);
    let connected = false;
    const options: RedisOptions = {
      // BullMQ's documented requirement for workers: commands wait for the reconnection.
      maxRetriesPerRequest: null,
      lazyConnect: true,
      retryStrategy: () => (connected ? RECONNECT_MS : null),
    };
    const client = new Redis(url, options);
    // Until the first connection, errors are the connect() call's to report.
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
    } catch (e) {
      client.disconnect();
      throw new SmapfillError(`cannot reach Redis at ${displayUrl(url)} (${(e as Error).message})`, {
        variable: "--queue",
        hint: "Start redis-server, or check the host, port and password",
      });
    }
    connected = true;
    return new RedisLink(url, client, o);
  }

  /**
   * Routes an emitter's 'error' events (an ioredis client, a BullMQ Queue, Worker or
   * QueueEvents) here: connection errors become the outage lines, others a line each. Without
   * a listener, ioredis prints every failed attempt with its stack, and an 'error' event on a
   * BullMQ object kills the process.
   */
  watch(emitter: EventEmitter): void {
    emitter.on("error", (e: Error) => this.closing || this.report(e));
  }

  /** Another client of this Redis with the same options (reconnecting, watched). */
  duplicate(): Redis {
    const d = this.client.duplicate();
    this.watch(d);
    return d;
  }

  private warn(message: string): void {
    (this.o.warn ?? ((m: string) => process.stderr.write(`${m}\n`)))(message);
  }

  /** An error of a connection or a command: the outage line, or one line of its own. */
  report(e: Error): void {
    const reason = e.message.split("\n")[0]!;
    if (!isConnectionError(e)) {
      // Not an outage (a script error, a command refused): one line, never a stack trace.
      if (reason !== this.lastReason) this.warn(`Redis at ${displayUrl(this.url)}: ${reason}`);
      this.lastReason = reason;
      return;
    }
    if (this.awaySince !== undefined) return;
    this.awaySince = Date.now();
    this.lastReason = reason;
    this.warn(
      `Redis at ${displayUrl(this.url)} is unreachable (${reason}); trying again every ${RECONNECT_MS / 1000} s: ${this.o.waiting ?? "waiting for it"}`,
    );
    this.emit("away");
  }

  private ready(): void {
    if (this.awaySince !== undefined) {
      this.warn(`Redis at ${displayUrl(this.url)} is back after ${Math.round((Date.now() - this.awaySince) / 1000)} s`);
      this.awaySince = undefined;
      this.lastReason = "";
    }
    this.emit("reconnected");
  }

  /** From now on, connections closing are the end of the run, not an outage. */
  closeQuietly(): void {
    this.closing = true;
  }

  close(): void {
    this.closing = true;
    this.client.disconnect();
  }
}

/** Errors of the connection itself (refused, reset, closed, timed out), as opposed to a command's. */
export function isConnectionError(e: Error): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  if (code && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/.test(code)) return true;
  return /connection (is )?closed|ECONNREFUSED|ECONNRESET|socket closed unexpectedly|Stream isn't writeable|LOADING/i.test(e.message);
}
