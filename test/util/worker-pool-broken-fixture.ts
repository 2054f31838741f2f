/** A worker module that cannot start, for the worker pool's tests. */
import { isMainThread } from "node:worker_threads";

// The test runner loads every file under test/ as a test file too: only a worker fails.
if (!isMainThread) throw new Error("this worker cannot start");
