/**
 * A NetCDF-4 file written onto a full file system: HDF5 says only "file write failed", so the
 * writer checks the space left and gives the one-line full-disk error every other writer gives,
 * leaving no temporary file. A small tmpfs is the full disk (skipped where mounting is not
 * allowed); each write runs in its own process, as HDF5 keeps a failed file open until exit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "../helpers.js";

const writer = fileURLToPath(new URL("../../src/io/netcdf-writer.js", import.meta.url));

/** Runs `body` (with writeNetcdf4, Netcdf4Writer, N and noise in scope) in a child; its error's class and message. */
function failureOf(body: string): { name: string; message: string } {
  const script = `
    import { writeNetcdf4, Netcdf4Writer } from ${JSON.stringify(writer)};
    const N = 200000;
    const noise = () => Float32Array.from({ length: N }, (_, i) => { const s = Math.sin(i * 12.9898) * 43758.5453; return s - Math.floor(s); });
    try { ${body}; console.log(JSON.stringify({ name: "none", message: "" })); }
    catch (e) { console.log(JSON.stringify({ name: e.constructor.name, message: e.message })); }`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

test("NetCDF-4 on a full disk: a DiskFullError naming the file and the bytes, no temporary left; whole files and streamed ones", (t) => {
  const mount = path.join(tempDir(), "small-disk");
  fs.mkdirSync(mount);
  const tmpfs = spawnSync("mount", ["-t", "tmpfs", "-o", "size=96k", "tmpfs", mount], { encoding: "utf8" });
  if (tmpfs.status !== 0) return t.skip(`cannot mount a tmpfs here (${tmpfs.stderr.trim()})`);
  try {
    const whole = path.join(mount, "whole.nc");
    const a = failureOf(
      `writeNetcdf4(${JSON.stringify(whole)}, { dimensions: [{ name: "x", values: Float64Array.from({ length: N }, (_, i) => i) }], variables: [{ name: "v", dims: ["x"], data: noise() }] })`,
    );
    assert.equal(a.name, "DiskFullError", a.message);
    assert.match(
      a.message,
      /whole\.nc: no space left on the device: writing 781\.3 KiB failed .*Free at least 781\.3 KiB or write elsewhere, and rerun: it resumes/,
    );
    assert.deepEqual(fs.readdirSync(mount), []);
    const streamed = path.join(mount, "streamed.nc");
    const b = failureOf(
      `const w = new Netcdf4Writer(${JSON.stringify(streamed)}); w.dimension("x", Float64Array.from({ length: N }, (_, i) => i)); w.variable({ name: "v", dims: ["x"], dtype: "float32" }); w.write("v", [0], [N], noise()); w.close()`,
    );
    assert.equal(b.name, "DiskFullError", b.message);
    assert.match(b.message, /streamed\.nc: no space left on the device/);
    assert.deepEqual(fs.readdirSync(mount), []);
  } finally {
    spawnSync("umount", [mount]);
  }
});
