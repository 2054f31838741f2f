import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { loadStudy } from "../../src/config/study.js";
import { ingestStudy } from "../../src/cube/ingest-study.js";
import { INSITU_FILE, INSITU_SECTION_ID, type InsituRecord } from "../../src/reconstruct/insitu-assessment.js";
import { readAssessment } from "../../src/reconstruct/assessment.js";
import { MIN_STATION_DAYS } from "../../src/reconstruct/product-stations.js";
import { REPO_ROOT, realFile, tempDir } from "../helpers.js";

const BIN = path.join(REPO_ROOT, "bin", "smapfill.js");
const HAWAII_ISMN = realFile("hawaii_2016_2019", "ismn", "ISMN_V20250617");
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, "--threads", "2", ...args], { encoding: "utf8", env: { ...process.env, CI: "1" } });

test("reconstruct --ismn on real Hawaii 2017-2018: the product on gap days and SMAP on its days at the SCAN and COSMOS stations, in insitu.json, report.md and the HTML report", async (t) => {
  const dir = tempDir();
  const study = loadStudy(path.join(REPO_ROOT, "examples", "hawaii-2017-2018.yaml"));
  study.output = path.join(dir, "hawaii.zarr");
  await ingestStudy(study, { quiet: true });
  const model = path.join(dir, "model");
  const trained = cli("train", study.output, "--model", "xgb", "--xgb-rounds", "100", "--out", model, "--quiet");
  assert.equal(trained.status, 0, trained.stderr);

  // SMAP's 0-5 cm depth alone: the COSMOS footprint (0-0.17 m) is left out.
  const shallow = cli("reconstruct", study.output, "--model", model, "--out", path.join(dir, "shallow"), "--ismn", HAWAII_ISMN, "--quiet");
  assert.equal(shallow.status, 0, shallow.stderr);
  const shallowRecord = JSON.parse(fs.readFileSync(path.join(dir, "shallow", INSITU_FILE), "utf8")) as InsituRecord;
  assert.ok(!shallowRecord.stations.some((s) => s.network === "COSMOS"));

  const out = path.join(dir, "product");
  const r = cli("reconstruct", study.output, "--model", model, "--out", out, "--ismn", HAWAII_ISMN, "--ismn-max-depth", "0.17", "--quiet");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /in situ \(\d+ stations\):\n  the product on gap days: RMSE [\d.]+ pooled/);
  const record = JSON.parse(fs.readFileSync(path.join(out, INSITU_FILE), "utf8")) as InsituRecord;
  assert.deepEqual(record.settings, { ismn: path.resolve(HAWAII_ISMN), flags: ["G"], maxDepth: 0.17 });
  const networks = new Set(record.stations.map((s) => s.network));
  assert.ok(networks.has("SCAN") && networks.has("COSMOS"), [...networks].join(","));
  const silverSword = record.stations.find((s) => s.station.startsWith("Silver"))!;
  // Gap days and observed days are disjoint and both exist at the COSMOS station.
  assert.ok(silverSword.product.n > 100 && silverSword.smap.n > 100, JSON.stringify(silverSword));
  for (const side of ["product", "smap"] as const) {
    const kept = record.stations.map((s) => s[side]).filter((s) => s.n >= MIN_STATION_DAYS);
    assert.equal(record[side].stations, kept.length);
    const meanRmse = kept.reduce((a, s) => a + s.rmse, 0) / kept.length;
    assert.ok(Math.abs(record[side].stationMean.rmse - meanRmse) < 1e-12);
    assert.equal(
      record[side].pooled.n,
      record.stations.reduce((a, s) => a + s[side].n, 0),
    );
    for (const k of ["rmse", "ubrmse", "bias", "r", "anomalyR"] as const) assert.ok(Number.isFinite(record[side].pooled[k]), `${side} ${k}`);
  }
  t.diagnostic(
    `Hawaii xgb product: gap days RMSE ${record.product.pooled.rmse.toFixed(3)} pooled, ${record.product.stationMean.rmse.toFixed(3)} mean; SMAP ${record.smap.pooled.rmse.toFixed(3)} pooled, ${record.smap.stationMean.rmse.toFixed(3)} mean`,
  );
  const section = readAssessment(out)!.sections.find((s) => s.id === INSITU_SECTION_ID)!;
  assert.equal(section.rows[0]!.rmse, record.product.pooled.rmse);
  const md = fs.readFileSync(path.join(out, "report.md"), "utf8");
  assert.match(md, /\| the product on gap days, mean over \d+ stations \| \d+ \| [\d.]+ \| [\d.]+ \| -?[\d.]+ \| -?[\d.]+ \| -?[\d.]+ \|/);
  assert.match(md, /mean RMSE 0\.09/);

  // The report scores the product with the recorded settings (COSMOS included) without being told.
  const html = path.join(dir, "report.html");
  const rep = cli("report", out, "--out", html);
  assert.equal(rep.status, 0, rep.stderr);
  const page = fs.readFileSync(html, "utf8");
  assert.match(page, /the product on gap days, mean over stations/);
  assert.match(page, /anomaly R/);
  assert.match(page, /COSMOS\/Silver_Sword/);

  // Stations outside the product: one line naming the download and the fix, exit 2.
  const none = cli("reconstruct", study.output, "--model", model, "--out", out, "--ismn", realFile("ismn", "tuw_ismn_tests"), "--quiet");
  assert.equal(none.status, 2, none.stderr);
  assert.match(none.stderr, /no ISMN station .* lies inside the product/);
});
