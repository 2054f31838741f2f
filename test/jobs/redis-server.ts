/** Debian's redis-server for the distributed tests: on a free loopback port, no persistence, killed and restarted at will. */
import fs from "node:fs";
import net from "node:net";
import { spawn, type ChildProcess } from "node:child_process";
import { Redis } from "ioredis";

export const REDIS_SERVER = "/usr/bin/redis-server";
const missing = !fs.existsSync(REDIS_SERVER);
if (missing && process.env.CI) throw new Error(`${REDIS_SERVER} is missing: .ci/run installs Debian's redis-server for the distributed tests`);
/** The `skip` of a test that needs redis-server. */
export const skipWithoutRedis: string | false = missing ? `no ${REDIS_SERVER} (apt-get install redis-server)` : false;

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  private process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.restart();
    return server;
  }

  /** Starts it (again, on the same port, empty: nothing was persisted) and waits until it answers. */
  async restart(): Promise<void> {
    this.process = spawn(REDIS_SERVER, ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    for (let i = 0; ; i++) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on("error", () => {});
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        if (i > 100) throw new Error("redis-server did not start");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Kills it (SIGKILL by default: no goodbye to its clients) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill(signal);
    });
  }
}
