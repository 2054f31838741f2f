/**
 * A quiet reporter for Node's test runner: one line per failing test with its error, nothing for
 * passing ones, the five slowest tests (where the suite's time goes), and a closing summary line
 * "N passed, N failed, N skipped".
 */
interface TestEventData {
  name: string;
  nesting: number;
  file?: string;
  skip?: boolean | string;
  todo?: boolean | string;
  details: { error?: unknown; type?: string; duration_ms?: number };
}

interface TestEvent {
  type: string;
  data: TestEventData & { message?: string };
}

export default async function* quietReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const durations: { name: string; ms: number }[] = [];
  const where = (data: TestEventData) => `${data.file ? data.file.replace(/^.*\/dist\//, "") + " > " : ""}${data.name}`;
  for await (const event of source) {
    const { type, data } = event;
    // Suites ('describe') report as tests too; count leaves only.
    if (data?.details?.type === "suite") continue;
    if ((type === "test:pass" || type === "test:fail") && data.nesting === 0 && data.details.duration_ms !== undefined)
      durations.push({ name: where(data), ms: data.details.duration_ms });
    if (type === "test:pass") {
      if (data.skip || data.todo) skipped++;
      else passed++;
    } else if (type === "test:fail") {
      failed++;
      const error = data.details.error as { cause?: unknown; message?: string } | undefined;
      const cause = error?.cause ?? error;
      const text = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause ?? error?.message);
      yield `FAIL ${where(data)}\n  ${text.split("\n").slice(0, 12).join("\n  ")}\n`;
    } else if (type === "test:stderr" || type === "test:stdout") {
      if (process.env.SMAPFILL_TEST_VERBOSE) yield data.message ?? "";
    }
  }
  const slowest = durations.sort((a, b) => b.ms - a.ms).slice(0, 5);
  if (slowest.length) yield `slowest tests:\n${slowest.map((d) => `  ${(d.ms / 1000).toFixed(1).padStart(6)} s  ${d.name}`).join("\n")}\n`;
  yield `${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
