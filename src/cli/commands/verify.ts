/** `smapfill verify`: a whole-store check of a cube or product (every chunk present and intact), like a file-system check. */
import fs from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { Cube } from "../../cube/cube.js";
import { acquireReaderLock } from "../../cube/lock.js";
import { verifyStore } from "../../cube/verify.js";
import { formatBytes } from "../../util/atomic-file.js";
import { SmapfillError } from "../../util/errors.js";

export function verifyCommand(): Command {
  return new Command("verify")
    .argument("<store>", "a cube (.zarr), a product folder (reconstruct --out) or its product.zarr")
    .description(
      "check every chunk of a cube or product: each one the chunk manifest lists is present and matches its checksum; exits 2 on any damage, naming each damaged chunk's variable, days, file and fix",
    )
    .action(async (where: string) => {
      const store = fs.existsSync(path.join(where, "product.zarr")) ? path.join(where, "product.zarr") : where;
      const release = acquireReaderLock(store, "smapfill verify");
      try {
        const cube = await Cube.open(store);
        const r = await verifyStore(cube);
        const lines = [`${r.store}: ${r.kind}, ${r.arrays} arrays, ${r.chunks} chunk files (${formatBytes(r.bytes)}) checked`];
        for (const m of r.metadata) lines.push(`  damaged: ${m.file}: ${m.problem}`);
        for (const d of r.damaged) lines.push(`  damaged: ${d.file}: ${d.variable}: ${d.problem}. ${d.hint}`);
        if (r.unlisted)
          lines.push(
            `  note: ${r.unlisted} chunk files the manifest does not list (written by a run stopped before it recorded them; the next run writes them again)`,
          );
        if (r.temporary.length) lines.push(`  note: ${r.temporary.length} temporary files left by an interrupted run (the next run removes them)`);
        const bad = r.damaged.length + r.metadata.length;
        if (!bad) lines.push("  no damage found");
        process.stdout.write(`${lines.join("\n")}\n`);
        if (bad)
          throw new SmapfillError(`${bad} ${bad === 1 ? "chunk or array is" : "chunks or arrays are"} missing or damaged (listed above)`, {
            file: r.store,
            hint: "Apply the fix named on each line; then run smapfill verify again",
          });
      } finally {
        release();
      }
    });
}
