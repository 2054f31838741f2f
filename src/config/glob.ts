/**
 * File globs for study configs: `*` and `?` within a path segment, `**` for any depth. Paths are
 * resolved against the config's folder. Results are sorted, so runs are reproducible. Symbolic
 * links are followed (a folder of links to granules kept elsewhere is common); `**` enters each
 * real folder once, so a link back up the tree is not a loop.
 */
import fs from "node:fs";
import path from "node:path";

function segmentRegex(segment: string): RegExp {
  const body = segment
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, "[^/]*")
    .replace(/\?/g, "[^/]");
  return new RegExp(`^${body}$`);
}

export function expandGlob(pattern: string, baseDir = process.cwd()): string[] {
  const absolute = path.resolve(baseDir, pattern);
  if (!/[*?]/.test(absolute)) return fs.existsSync(absolute) ? [absolute] : [];
  const root = path.parse(absolute).root;
  const segments = absolute.slice(root.length).split(path.sep);
  const out: string[] = [];
  const entered = new Set<string>();
  const walk = (dir: string, i: number) => {
    if (i === segments.length) {
      out.push(dir);
      return;
    }
    const seg = segments[i]!;
    if (seg === "**") {
      const real = realPath(dir);
      if (entered.has(`${real}\u0000${i}`)) return;
      entered.add(`${real}\u0000${i}`);
      walk(dir, i + 1);
      for (const e of safeReaddir(dir)) if (kindOf(dir, e) === "dir") walk(path.join(dir, e.name), i);
      return;
    }
    if (!/[*?]/.test(seg)) {
      const next = path.join(dir, seg);
      if (fs.existsSync(next)) walk(next, i + 1);
      return;
    }
    const re = segmentRegex(seg);
    for (const e of safeReaddir(dir)) {
      if (!re.test(e.name)) continue;
      if (kindOf(dir, e) === (i === segments.length - 1 ? "file" : "dir")) walk(path.join(dir, e.name), i + 1);
    }
  };
  walk(root, 0);
  return [...new Set(out)].sort();
}

/**
 * A directory entry as a file or a folder, following symbolic links. A broken link counts as a
 * file, so that whoever reads it names it ("is a broken symbolic link") instead of it vanishing;
 * a link that loops is neither.
 */
function kindOf(dir: string, e: fs.Dirent): "file" | "dir" | undefined {
  if (e.isFile()) return "file";
  if (e.isDirectory()) return "dir";
  if (!e.isSymbolicLink()) return undefined;
  try {
    const st = fs.statSync(path.join(dir, e.name));
    return st.isFile() ? "file" : st.isDirectory() ? "dir" : undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT" ? "file" : undefined;
  }
}

function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

function safeReaddir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
