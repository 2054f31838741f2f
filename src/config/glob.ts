/**
 * File globs for study configs: `*` and `?` within a path segment, `**` for any depth. Paths are
 * resolved against the config's folder. Results are sorted, so runs are reproducible.
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
  const walk = (dir: string, i: number) => {
    if (i === segments.length) {
      out.push(dir);
      return;
    }
    const seg = segments[i]!;
    if (seg === "**") {
      walk(dir, i + 1);
      for (const e of safeReaddir(dir)) if (e.isDirectory()) walk(path.join(dir, e.name), i);
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
      if (i === segments.length - 1 ? e.isFile() : e.isDirectory()) walk(path.join(dir, e.name), i + 1);
    }
  };
  walk(root, 0);
  return [...new Set(out)].sort();
}

function safeReaddir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
