/** What several benchmarks share: the median of rounds, and a throw-away redis-server on a free loopback port. */
import net from "node:net";
import { spawn } from "node:child_process";
import { withQueue } from "../src/jobs/run-jobs.js";

/** The median (the mean of the two middle values for an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Debian's redis-server on a free loopback port, no persistence; `clear` empties the smapfill queue, `stop` ends it. */
export async function startRedis(): Promise<{ url: string; clear: () => Promise<void>; jobs: () => Promise<number>; stop: () => void }> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}/0`;
  const redis = spawn("/usr/bin/redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 500));
  return {
    url,
    clear: () => withQueue(url, (q) => q.obliterate({ force: true })),
    jobs: () => withQueue(url, (q) => q.getCompletedCount()),
    stop: () => redis.kill(),
  };
}
