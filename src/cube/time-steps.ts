/**
 * The time steps of a dynamic predictor across its files, checked: two files whose periods
 * overlap (a month downloaded twice, ERA5's preliminary and final versions side by side) or a
 * time repeated inside one file would be averaged or picked from either version, silently. They
 * are refused with the files and times named, unless the predictor's `on_duplicate` says which
 * wins:
 *  - `first`: the first file in name order keeps its whole period; later files add only times
 *    outside it (within a file, the first of a repeated time);
 *  - `last`: the last file in name order wins (within a file, the last of a repeated time);
 *  - `newest-file`: the most recently modified file wins (ties: the later name), within a file
 *    the last of a repeated time.
 * A file's period is from its first to its last time: a higher-priority file claims every time in
 * it, so no day mixes steps of two files.
 */
import path from "node:path";
import { SmapfillError } from "../util/errors.js";
import type { ON_DUPLICATE } from "../config/study.js";

export interface TimeStep {
  file: string;
  index: number;
  /** Epoch ms. */
  time: number;
}

export type OnDuplicate = (typeof ON_DUPLICATE)[number];

export interface FileTimes {
  file: string;
  times: Float64Array;
  mtimeMs: number;
}

const iso = (t: number) => new Date(t).toISOString().replace(/:00\.000Z$/, "Z");

function repeated(times: Float64Array): number[] {
  const sorted = Float64Array.from(times).sort();
  const out: number[] = [];
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1] && out[out.length - 1] !== sorted[i]) out.push(sorted[i]!);
  return out;
}

function period(times: Float64Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const t of times) ((lo = Math.min(lo, t)), (hi = Math.max(hi, t)));
  return [lo, hi];
}

/**
 * The steps to read, in time order, with at most one step per time and no day from two files.
 * Without `rule`, any overlap or repeat is refused (`what` names the predictor in the message);
 * with one, `dropped` says how many steps of which files gave way.
 */
export function resolveTimeSteps(files: FileTimes[], rule: OnDuplicate | undefined, what: string): { steps: TimeStep[]; dropped?: string } {
  const periods = files.map((f) => period(f.times));
  if (!rule) {
    for (const f of files) {
      const r = repeated(f.times);
      if (r.length)
        throw new SmapfillError(`${what}: the file holds ${iso(r[0]!)} more than once${r.length > 1 ? ` (and ${r.length - 1} more repeated times)` : ""}`, {
          file: f.file,
          hint: "Its values for a repeated time would be averaged or picked at random: fix the file, or set on_duplicate: first|last|newest-file on the predictor",
        });
    }
    const overlaps: { file: string; text: string }[] = [];
    for (let i = 0; i < files.length; i++)
      for (let j = i + 1; j < files.length; j++) {
        const [a, b] = [periods[i]!, periods[j]!];
        const from = Math.max(a[0], b[0]);
        const to = Math.min(a[1], b[1]);
        if (from <= to) overlaps.push({ file: files[i]!.file, text: `${path.basename(files[j]!.file)} overlaps it from ${iso(from)} to ${iso(to)}` });
      }
    if (overlaps.length) {
      throw new SmapfillError(`${what}: ${overlaps[0]!.text}${overlaps.length > 1 ? ` (and ${overlaps.length - 1} more overlaps between its files)` : ""}`, {
        file: overlaps[0]!.file,
        hint: "Two versions of the same hours would be blended into the daily values: remove one of the files (a second download, a preliminary version), or set on_duplicate: first|last|newest-file on the predictor",
      });
    }
    const steps = files.flatMap((f) => Array.from(f.times, (time, index) => ({ file: f.file, index, time })));
    return { steps: steps.sort((a, b) => a.time - b.time) };
  }
  const order = files.map((_, i) => i);
  if (rule === "last") order.reverse();
  if (rule === "newest-file") order.sort((a, b) => files[b]!.mtimeMs - files[a]!.mtimeMs || b - a);
  const claimed: [number, number][] = [];
  const steps: TimeStep[] = [];
  const droppedBy = new Map<string, number>();
  for (const i of order) {
    const f = files[i]!;
    const seen = new Map<number, number>();
    const indices = Array.from(f.times, (_, k) => k);
    if (rule !== "first") indices.reverse(); // the last of a repeated time wins
    for (const index of indices) {
      const time = f.times[index]!;
      if (seen.has(time) || claimed.some(([lo, hi]) => time >= lo && time <= hi)) {
        droppedBy.set(f.file, (droppedBy.get(f.file) ?? 0) + 1);
        continue;
      }
      seen.set(time, index);
      steps.push({ file: f.file, index, time });
    }
    claimed.push(periods[i]!);
  }
  const dropped = [...droppedBy].map(([file, n]) => `${n} steps of ${path.basename(file)}`).join(", ");
  return { steps: steps.sort((a, b) => a.time - b.time), ...(dropped ? { dropped: `${dropped} dropped (on_duplicate: ${rule})` } : {}) };
}
