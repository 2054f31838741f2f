/**
 * Checks a product folder's STAC catalog against what STAC 1.0.0 (Collection, Item), the
 * datacube extension (v2.2.0) and the projection extension (v1.1.0) require, and that every
 * link and asset resolves to a file of the folder. (The official JSON schemas are not vendored:
 * see docs/product.md.)
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const isoTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function hrefsResolve(file: string, o: { links: { href: string }[]; assets?: Record<string, { href: string; type?: string; roles?: string[] }> }) {
  for (const l of o.links.filter((x) => !/^https?:/.test(x.href)))
    assert.ok(fs.existsSync(path.resolve(path.dirname(file), l.href)), `${file}: link ${l.href}`);
  for (const [k, a] of Object.entries(o.assets ?? {})) {
    assert.ok(fs.existsSync(path.resolve(path.dirname(file), a.href)), `${file}: asset ${k} ${a.href}`);
    assert.ok(a.type && a.roles?.length, `${file}: asset ${k} has a media type and roles`);
  }
}

export function checkStacCatalog(productDir: string): { collection: any; items: any[] } {
  const file = path.join(productDir, "stac", "collection.json");
  const c = JSON.parse(fs.readFileSync(file, "utf8"));
  assert.equal(c.type, "Collection");
  assert.equal(c.stac_version, "1.0.0");
  for (const k of ["id", "description", "license", "extent", "links"]) assert.ok(c[k], `collection.${k}`);
  assert.match(c.license, /^[\w\-.+]+$/);
  assert.equal(c.extent.spatial.bbox[0].length, 4);
  const [w, s, e, n] = c.extent.spatial.bbox[0];
  assert.ok(w < e && s < n && w >= -180 && e <= 180 && s >= -90 && n <= 90);
  for (const t of c.extent.temporal.interval[0]) assert.match(t, isoTime);
  assert.ok(
    c.providers.every((p: { name: string; roles: string[] }) => p.name && p.roles.every((r) => ["producer", "licensor", "processor", "host"].includes(r))),
  );
  assert.ok(c.stac_extensions.includes("https://stac-extensions.github.io/datacube/v2.2.0/schema.json"));
  const dims = c["cube:dimensions"];
  for (const axis of ["x", "y"])
    assert.deepEqual([dims[axis].type, dims[axis].axis, dims[axis].extent.length, dims[axis].reference_system], ["spatial", axis, 2, 6933]);
  assert.equal(dims.time.type, "temporal");
  for (const t of dims.time.extent) assert.match(t, isoTime);
  for (const [name, v] of Object.entries(c["cube:variables"]) as [string, { dimensions: string[]; type: string }][]) {
    assert.ok(
      v.dimensions.every((d) => d in dims),
      `${name}'s dimensions are cube dimensions`,
    );
    assert.ok(["data", "auxiliary"].includes(v.type), name);
  }
  assert.equal(c["cube:variables"].soil_moisture.type, "data");
  assert.ok(c["smapfill:model"] && Object.keys(c["smapfill:model_scores"]).length, "the model and its scores");
  hrefsResolve(file, c);
  const items = c.links
    .filter((l: { rel: string }) => l.rel === "item")
    .map((l: { href: string }) => {
      const itemFile = path.resolve(path.dirname(file), l.href);
      const item = JSON.parse(fs.readFileSync(itemFile, "utf8"));
      assert.equal(item.type, "Feature");
      assert.equal(item.stac_version, "1.0.0");
      assert.equal(item.collection, c.id);
      assert.ok(item.stac_extensions.includes("https://stac-extensions.github.io/projection/v1.1.0/schema.json"));
      assert.equal(item.geometry.type, "Polygon");
      assert.equal(item.bbox.length, 4);
      const p = item.properties;
      assert.ok(p.datetime === null && isoTime.test(p.start_datetime) && isoTime.test(p.end_datetime) && p.start_datetime < p.end_datetime);
      assert.equal(p["proj:epsg"], 6933);
      assert.equal(p["proj:transform"].length, 6);
      assert.equal(p["proj:shape"].length, 2);
      hrefsResolve(itemFile, item);
      return item;
    });
  return { collection: c, items };
}
