/**
 * `smapfill serve` against what the network may send it: malformed request lines (a raw socket),
 * Host headers of other sites (DNS rebinding), and what its product files may show (absolute
 * paths). A product made here with the attributes a real one carries.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { Cube } from "../../src/cube/cube.js";
import { startServer } from "../../src/serve/server.js";
import { HostCheck, isLoopback } from "../../src/serve/hosts.js";
import { redactJson, withoutAbsolutePaths } from "../../src/serve/redact.js";
import { tempDir } from "../helpers.js";

let dir = "";
let server: { url: string; close(): Promise<void> } | undefined;
let port = 0;
const warnings: string[] = [];

before(async () => {
  dir = tempDir();
  const cube = path.join(dir, "cube.zarr");
  const model = path.join(dir, "model");
  const product = await Cube.create(path.join(dir, "product", "product.zarr"), {
    resolution: "9km",
    window: { row0: 300, col0: 3000, nrows: 4, ncols: 4 },
    start: "2020-01-01",
    days: 8,
    variables: [
      { name: "soil_moisture", kind: "dynamic", units: "m3 m-3", long_name: "gap-free surface soil moisture" },
      { name: "soil_moisture_uncertainty", kind: "dynamic", units: "m3 m-3", long_name: "one-sigma uncertainty of soil_moisture" },
      { name: "soil_moisture_source", kind: "dynamic", units: "1", long_name: "source", dtype: "uint8", attributes: { comment: `flags from ${model}` } },
    ],
    chunks: { time: 8, y: 4, x: 4 },
    attributes: {
      title: "smapfill gap-free SMAP surface soil moisture",
      product_source_cube: cube,
      model_dir: model,
      reconstruct: { settings: JSON.stringify({ cube, model: "0123456789abcdef", t0: 0, t1: 8 }), tiles_done: [0] },
      history: `2026-12-02T05:44:10Z: smapfill reconstruct ${cube} --model=${model} --out C:\\Users\\ana\\product`,
      references: "https://nsidc.org/data/spl3smp_e/versions/6 (2019/07/20)",
    },
  });
  await product.addProvenance("reconstruct", { model, fingerprint: "0123456789abcdef" });
  server = await startServer({ product: path.join(dir, "product"), port: 0, warn: (m) => warnings.push(m) });
  port = Number(new URL(server.url).port);
});

after(() => server?.close());

/** A GET with a Host header of our choosing (fetch would not send one). */
function get(urlPath: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: urlPath, headers: { host } }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      })
      .on("error", reject);
  });
}

/** Bytes written on a raw socket, and the status line that comes back. */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(request));
    let reply = "";
    socket.on("data", (d) => (reply += d));
    socket.on("close", () => resolve(reply.split("\r\n")[0]!));
    socket.on("error", reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error("no reply")));
  });
}

test("serve: a malformed request line (GET http://[ HTTP/1.1) or garbage gets 400 and the viewer goes on", async () => {
  // Before: 'TypeError: Invalid URL' thrown in the request handler ended the process.
  assert.equal(await raw("GET http://[ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  assert.equal(await raw("GET /%zz%%/../\0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  assert.equal(await raw("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  assert.match(await raw("GET http://127.0.0.1/meta.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), /^HTTP\/1\.1 200/);
  assert.match(await raw("GET http://attacker.example/meta.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), /^HTTP\/1\.1 403/);
  const page = await get("/");
  assert.equal(page.status, 200, "still serving");
  assert.deepEqual(warnings, [], "a loopback viewer warns of nothing");
});

test("serve: answers only to its own host names (DNS rebinding): IP addresses, localhost, this machine, --allow-host", async () => {
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, "localhost", `app.localhost:${port}`, `192.168.1.20:${port}`])
    assert.equal((await get("/meta.json", host)).status, 200, host);
  const refused = await get("/product/zarr.json", `rebind.attacker.example:${port}`);
  assert.equal(refused.status, 403);
  assert.match(refused.body, /this viewer does not answer to 'rebind\.attacker\.example': start it with --allow-host rebind\.attacker\.example/);
  assert.equal((await get("/", "bad host header")).status, 403);
  const check = new HostCheck("0.0.0.0", ["viewer.lab.example", ".cluster.example"]);
  assert.ok(check.accepts("viewer.lab.example:8731") && check.accepts("VIEWER.LAB.EXAMPLE.") && check.accepts("node-3.cluster.example"));
  assert.ok(!check.accepts("lab.example") && !check.accepts("viewer.lab.example.attacker.example") && !check.accepts("cluster.example.evil"));
  assert.ok(new HostCheck("my-box.local").accepts("my-box.local:8731"), "the bound name");
});

test("serve: the product's metadata as served holds no absolute path (attributes, settings, provenance, history)", async () => {
  const files = ["/product/zarr.json", "/product/.smapfill-root.json", "/product/soil_moisture_source/zarr.json"];
  for (const f of files) {
    const r = await get(f);
    assert.equal(r.status, 200, f);
    assert.doesNotMatch(r.body, new RegExp(dir.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")), `${f} shows the product's folder`);
    assert.doesNotMatch(r.body, /(^|["\s=(,:])(\/[^/\s"]|[A-Za-z]:\\)/, `${f} shows an absolute path:\n${r.body}`);
    JSON.parse(r.body);
  }
  const attributes = JSON.parse((await get("/product/zarr.json")).body).attributes;
  assert.equal(attributes.product_source_cube, "cube.zarr");
  assert.equal(attributes.model_dir, "model");
  assert.equal(JSON.parse(attributes.reconstruct.settings).cube, "cube.zarr");
  assert.equal(attributes.history, "2026-12-02T05:44:10Z: smapfill reconstruct cube.zarr --model=model --out product");
  assert.equal(attributes.references, "https://nsidc.org/data/spl3smp_e/versions/6 (2019/07/20)", "URLs and dates are not paths");
  assert.match(JSON.parse((await get("/product/soil_moisture_source/zarr.json")).body).attributes.comment, /^flags from model$/);
});

test("absolute paths reduced to their last part; URLs, units, dates and relative paths kept", () => {
  assert.equal(withoutAbsolutePaths("/home/ana/cube.zarr"), "cube.zarr");
  assert.equal(withoutAbsolutePaths("cube /data/x/ and --model=/m/xgb/, C:\\Users\\a\\p.zarr; D:/p/q"), "cube x and --model=xgb, p.zarr; q");
  for (const kept of ["redis://127.0.0.1:6379/0", "s3://bucket/key.zarr", "m3/m3", "2019/07/20", "product/zarr.json", "/", "a/b"])
    assert.equal(withoutAbsolutePaths(kept), kept, kept);
  assert.deepEqual(JSON.parse(redactJson('{"/abs/key": ["/a/b", 1, {"c": "see /x/y"}]}')), { key: ["b", 1, { c: "see y" }] });
});

test("serve --host 0.0.0.0 warns that the viewer is open to other machines; loopback addresses do not", async () => {
  assert.ok(isLoopback("127.0.0.1") && isLoopback("127.8.0.1") && isLoopback("::1") && isLoopback("[::1]") && isLoopback("localhost"));
  assert.ok(!isLoopback("0.0.0.0") && !isLoopback("::") && !isLoopback("192.168.1.20") && !isLoopback("my-box"));
  const seen: string[] = [];
  const open = await startServer({ product: path.join(dir, "product"), port: 0, host: "0.0.0.0", warn: (m) => seen.push(m) });
  try {
    assert.equal(seen.length, 1);
    assert.match(seen[0]!, /^warning: --host 0\.0\.0\.0: the viewer is open to every machine that reaches this one on port \d+, without a password/);
  } finally {
    await open.close();
  }
});
