/**
 * The product's metadata as the viewer serves it: every absolute path in its attributes (the
 * cube and model a product was made from, its settings, a command line in its history) reduced
 * to its last component. Paths name a user's home, a project's layout, a mount; the viewer may be
 * open to other machines and needs none of them. The file on disk is left as it is.
 */

// An absolute path: POSIX ("/a/b", not "//host" as in URLs) or Windows ("C:\a" or "C:/a"),
// starting a string or after a space, quote, bracket, '=', ',' or ':' (as in "--model=/a",
// '"cube":"/a"'), running to the next space, quote, bracket, ',' or ';'.
const ABSOLUTE = /(^|[\s"'`=(,:[{])((?:\/(?!\/)|[A-Za-z]:[\\/])[^\s"'`,;)\]}]*)/g;

/** A string with every absolute path in it replaced by the path's last component. */
export function withoutAbsolutePaths(s: string): string {
  return s.replace(ABSOLUTE, (_, before: string, p: string) => {
    const last = p
      .split(/[\\/]+/)
      .filter(Boolean)
      .at(-1);
    return `${before}${last ?? p}`;
  });
}

/** Every string of a JSON value (keys and values), with absolute paths reduced. */
function redactValue(v: unknown): unknown {
  if (typeof v === "string") return withoutAbsolutePaths(v);
  if (Array.isArray(v)) return v.map(redactValue);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [withoutAbsolutePaths(k), redactValue(x)]));
  return v;
}

/** A JSON document with absolute paths reduced (text that is not JSON: its lines, reduced the same way). */
export function redactJson(text: string): string {
  try {
    return JSON.stringify(redactValue(JSON.parse(text)), null, 2);
  } catch {
    return withoutAbsolutePaths(text);
  }
}
