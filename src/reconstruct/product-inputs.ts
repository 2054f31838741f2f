/**
 * What each tile of a product was made from, so that a product follows its cube. Every tile
 * records the cube's inputs at the time it was made (the content hash of each day's granule and of
 * each predictor file: cube/fingerprint.ts); a tile whose recorded inputs have since changed or
 * gone (a granule downloaded again with other bytes and ingested) is made again by the next
 * `reconstruct`, which says so, as is a tile with a missing or damaged chunk. Inputs only added
 * (a cube extended to a later end) do not make a tile stale: the extension makes the new days.
 * Paths a product records are relative to the product, so that a product and its cube moved
 * together stay together.
 */
import path from "node:path";
import type { Cube } from "../cube/cube.js";
import { cubeInputs, describeChanges, digest, inputChanges } from "../cube/fingerprint.js";
import { verifyStore } from "../cube/verify.js";
import { granuleDateFromName } from "../io/smap-l3.js";

export const INPUTS_ATTRIBUTE = "reconstruct_inputs";

interface TileInputs {
  /** Tile id -> digest of the inputs it was made from. */
  tiles: Record<string, string>;
  /** Digest -> the inputs (key -> content hash or file). */
  inputs: Record<string, Record<string, string>>;
}

export interface CurrentInputs {
  map: Record<string, string>;
  digest: string;
}

/** The cube's inputs now. */
export function currentInputs(cube: Cube): CurrentInputs {
  const map = cubeInputs(cube.attributes, granuleDateFromName);
  return { map, digest: digest(map) };
}

function recorded(product: Cube): TileInputs {
  return (product.attributes[INPUTS_ATTRIBUTE] as TileInputs | undefined) ?? { tiles: {}, inputs: {} };
}

/** The tiles whose recorded inputs changed since they were made, and what changed (one line). */
export function staleTiles(product: Cube, now: CurrentInputs): { tiles: number[]; change: string } {
  const r = recorded(product);
  const tiles: number[] = [];
  const changes = new Set<string>();
  let before: Record<string, string> = {};
  for (const [id, d] of Object.entries(r.tiles)) {
    if (d === now.digest) continue;
    const map = r.inputs[d] ?? {};
    const { changed } = inputChanges(map, now.map);
    if (!changed.length) continue;
    tiles.push(Number(id));
    changed.forEach((k) => changes.add(k));
    before = { ...before, ...map };
  }
  return { tiles: tiles.sort((a, b) => a - b), change: describeChanges(before, [...changes]) };
}

/** The product attribute once tile `id` is made from `now` (inputs no tile refers to any more are dropped). */
export function tileMadeFrom(product: Cube, id: number, now: CurrentInputs): Record<string, TileInputs> {
  const r = recorded(product);
  const tiles = { ...r.tiles, [id]: now.digest };
  const used = new Set(Object.values(tiles));
  const inputs = Object.fromEntries(Object.entries({ ...r.inputs, [now.digest]: now.map }).filter(([d]) => used.has(d)));
  return { [INPUTS_ATTRIBUTE]: { tiles, inputs } };
}

/** The tiles with a missing or damaged chunk, and the first such file. */
async function damagedTiles(product: Cube): Promise<{ tiles: number[]; file?: string }> {
  const r = await verifyStore(product);
  const perRow = Math.ceil(product.window.ncols / product.chunks.x);
  const tiles = new Set<number>();
  for (const d of r.damaged) {
    const v = product.variables.find((x) => x.name === d.array);
    if (v?.kind !== "dynamic") continue;
    const [, , y, x] = d.chunk.split("/").map(Number);
    tiles.add(y! * perRow + x!);
  }
  return { tiles: [...tiles].sort((a, b) => a - b), file: r.damaged[0]?.file };
}

/**
 * Removes from `done` the tiles to make again: made from inputs that have changed since, or with
 * a missing or damaged chunk; says which and why. True when any tile must be made again (its
 * days all, not only an extension's).
 */
export async function checkMadeTiles(cube: Cube, product: Cube, done: Set<number>, now: CurrentInputs, log: (m: string) => void): Promise<boolean> {
  const total = cube.tiles().length;
  const stale = staleTiles(product, now);
  if (stale.tiles.length) log(`${stale.tiles.length} of ${total} tiles made again: the cube's inputs changed since they were made (${stale.change})`);
  const damaged = await damagedTiles(product);
  if (damaged.tiles.length)
    log(`${damaged.tiles.length} of ${total} tiles made again: chunks of them are missing or damaged (${damaged.file}; smapfill verify lists them)`);
  const again = [...stale.tiles, ...damaged.tiles];
  for (const id of again) done.delete(id);
  return again.length > 0;
}

/** A path as the product records it: relative to the product's store. */
export function relativeToProduct(product: string, file: string): string {
  return path.relative(path.resolve(product), path.resolve(file));
}

/** Whether a product is current: made from its cube's inputs as they are now. */
export async function productStatus(product: Cube, open: (cube: string) => Promise<Cube>): Promise<string> {
  const source = product.attributes.product_source_cube;
  if (typeof source !== "string") return "unknown: the product does not name its cube";
  const where = path.resolve(product.path, source);
  let cube: Cube;
  try {
    cube = await open(where);
  } catch {
    return `unknown: its cube ${source} (relative to the product) cannot be opened`;
  }
  const stale = staleTiles(product, currentInputs(cube));
  const made = Object.keys(recorded(product).tiles).length;
  if (!stale.tiles.length) return `current: its ${made} tiles were made from the inputs its cube (${source}) holds now`;
  return `stale: ${stale.tiles.length} of ${product.tiles().length} tiles were made before the cube changed (${stale.change}); run the same smapfill reconstruct to make them again`;
}
