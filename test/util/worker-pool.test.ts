/**
 * The worker pool: a thread that dies fails only the task it was running (after one more try on
 * a fresh thread), is replaced, and a module that cannot start does not spawn threads without end.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { WorkerPool } from "../../src/util/worker-pool.js";
import type { FixtureTask } from "./worker-pool-fixture.js";

const fixture = new URL("./worker-pool-fixture.js", import.meta.url);
const outcome = (r: PromiseSettledResult<number>) => (r.status === "fulfilled" ? r.value : "failed");
/** The pool's live threads (private: read here to check that none are spawned in vain). */
const liveThreads = (pool: WorkerPool<unknown, unknown>) => (pool as unknown as { workers: unknown[] }).workers.length;

test("worker pool: a task whose thread throws or exits fails alone; the pool replaces the thread and runs every later task", { timeout: 30_000 }, async () => {
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
    assert.deepEqual(mixed.map(outcome), ["failed", "failed", 81, 100, 121, 144]);
    // Dead threads are replaced for the tasks waiting, never beyond the pool's size.
    assert.equal(pool.size, 2);
    assert.ok(liveThreads(pool) >= 1 && liveThreads(pool) <= 2, `${liveThreads(pool)} threads`);
    assert.deepEqual(await Promise.all([2, 3, 4, 5].map((x) => pool.run({ op: "square", x }))), [4, 9, 16, 25]);
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.run({ op: "square", x: 1 }), /closed/);
});

test("worker pool: a thread that dies just after replying does not fail the task sent to it next", { timeout: 30_000 }, async () => {
  const pool = new WorkerPool<FixtureTask, number>(fixture, 1);
  try {
    const r = await Promise.allSettled([pool.run({ op: "reply-then-exit", x: 2 }), pool.run({ op: "square", x: 3 }), pool.run({ op: "square", x: 4 })]);
    assert.deepEqual(r.map(outcome), [4, 9, 16]);
  } finally {
    await pool.close();
  }
});

test("worker pool: a module that cannot start fails each task and leaves no thread spawning", { timeout: 30_000 }, async () => {
  const pool = new WorkerPool<FixtureTask, number>(new URL("./worker-pool-broken-fixture.js", import.meta.url), 2);
  try {
    const r = await Promise.allSettled([1, 2, 3].map((x) => pool.run({ op: "square", x })));
    for (const one of r) assert.match(one.status === "rejected" ? String(one.reason) : "fulfilled", /cannot start/);
    await sleep(500);
    assert.equal(liveThreads(pool), 0, "no task waits, so no thread is started again");
  } finally {
    await pool.close();
  }
});

test("worker pool: closing fails the tasks still running and still queued", { timeout: 30_000 }, async () => {
  const pool = new WorkerPool<FixtureTask, number>(fixture, 1);
  const settled = Promise.allSettled([1, 2, 3].map((x) => pool.run({ op: "slow", x })));
  await sleep(50);
  await pool.close();
  const r = await settled;
  for (const one of r) assert.match(one.status === "rejected" ? String(one.reason) : "fulfilled", /closed/);
});
