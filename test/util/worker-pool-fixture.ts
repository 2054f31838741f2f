/** A worker body for the worker pool's tests: squares a number, throws, exits, or replies and then exits, on request. */
import { parentPort } from "node:worker_threads";

export interface FixtureTask {
  op: "square" | "throw" | "exit" | "reply-then-exit" | "slow";
  x: number;
}

// The test runner loads every file under test/ as a test file too: in the main thread, nothing to do.
parentPort?.on("message", ({ op, x }: FixtureTask) => {
  if (op === "throw") throw new Error(`thrown for ${x}`);
  if (op === "exit") process.exit(3);
  if (op === "slow") {
    setTimeout(() => parentPort!.postMessage(x * x), 500);
    return;
  }
  parentPort!.postMessage(x * x);
  if (op === "reply-then-exit") process.exit(4);
});
