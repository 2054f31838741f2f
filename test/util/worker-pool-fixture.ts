/** A worker body for the worker pool's tests: squares a number, throws, or exits on request. */
import { parentPort } from "node:worker_threads";

export interface FixtureTask {
  op: "square" | "throw" | "exit";
  x: number;
}

// The test runner loads every file under test/ as a test file too: in the main thread, nothing to do.
parentPort?.on("message", ({ op, x }: FixtureTask) => {
  if (op === "throw") throw new Error(`thrown for ${x}`);
  if (op === "exit") process.exit(3);
  parentPort!.postMessage(x * x);
});
