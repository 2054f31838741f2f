/**
 * Country borders and coastlines for maps, from the world-atlas package (Natural Earth 1:50m as
 * TopoJSON, packaged: no network), converted by topojson-client. Shared borders come out once
 * (topojson's mesh), and only the pieces inside a map's extent are kept.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import { feature, mesh } from "topojson-client";
import type { Topology, GeometryCollection } from "topojson-specification";

/** A polyline of [lon, lat] points. */
export type BorderLine = [number, number][];

const require = createRequire(import.meta.url);
let cached: BorderLine[] | undefined;

/** The world-atlas file the maps use (the viewer serves the same file to the browser). */
export function worldAtlasFile(): string {
  return require.resolve("world-atlas/countries-50m.json");
}

/** Every border and coastline of the world as polylines. */
export function worldBorders(): BorderLine[] {
  if (cached) return cached;
  const topology = JSON.parse(fs.readFileSync(worldAtlasFile(), "utf8")) as Topology<{ countries: GeometryCollection; land: GeometryCollection }>;
  const lines = [mesh(topology, topology.objects.countries), mesh(topology, topology.objects.land)];
  cached = lines.flatMap((l) => l.coordinates as BorderLine[]);
  return cached;
}

/** The pieces of the world's borders inside an extent widened by `margin` degrees. */
export function bordersWithin(e: { west: number; east: number; south: number; north: number }, margin = 1): BorderLine[] {
  const inside = ([lon, lat]: [number, number]) => lon >= e.west - margin && lon <= e.east + margin && lat >= e.south - margin && lat <= e.north + margin;
  const out: BorderLine[] = [];
  for (const line of worldBorders()) {
    let piece: BorderLine = [];
    for (const p of line) {
      if (inside(p)) piece.push(p);
      else if (piece.length) {
        if (piece.length > 1) out.push(piece);
        piece = [];
      }
    }
    if (piece.length > 1) out.push(piece);
  }
  return out;
}

/** The world's land (1:110m) as GeoJSON features, for locator maps. */
export function worldLand(): unknown[] {
  const file = require.resolve("world-atlas/land-110m.json");
  const topology = JSON.parse(fs.readFileSync(file, "utf8")) as Topology<{ land: GeometryCollection }>;
  return feature(topology, topology.objects.land).features;
}
