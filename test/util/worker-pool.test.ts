/** The worker pool: results come back in order of the tasks; a thread that dies fails its task only and is replaced. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { WorkerPool } from "../../src/util/worker-pool.js";
import type { FixtureTask } from "./worker-pool-fixture.js";

const fixture = new URL("./worker-pool-fixture.js", import.meta.url);

test("worker pool: a task whose thread throws or exits fails alone; the pool keeps its size and runs every later task", { timeout: 30_000 }, async () => {
  const pool = new WorkerPool<FixtureTask, number>(fixture, 2);
  try {
    assert.deepEqual(await Promise.all([1, 2, 3].map((x) => pool.run({ op: "square", x }))), [1, 4, 9]);
    await assert.rejects(pool.run({ op: "throw", x: 5 }), /thrown for 5/);
    await assert.rejects(pool.run({ op: "exit", x: 6 }), /exited \(code 3\)/);
    // Both threads die at once, with tasks queued behind them.
    const mixed = await Promise.allSettled([
      pool.run({ op: "throw", x: 7 }),
      pool.run({ op: "exit", x: 8 }),
      ...[9, 10, 11, 12].map((x) => pool.run({ op: "square", x })),
    ]);
    assert.deepEqual(
      mixed.map((r) => (r.status === "fulfilled" ? r.value : "failed")),
      ["failed", "failed", 81, 100, 121, 144],
    );
    assert.equal(pool.size, 2);
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.run({ op: "square", x: 1 }), /closed/);
});
