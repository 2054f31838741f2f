/**
 * A key written twice in one JSON object: JSON.parse keeps the last silently (the first value a
 * user wrote vanishes), so study configs in JSON are scanned for them. A small tokenizer over
 * strings, braces and brackets, for text that JSON.parse has already accepted.
 */

/** The first key repeated in an object of `text`: its dotted path and line, or undefined. */
export function duplicateKey(text: string): { key: string; line: number } | undefined {
  const stack: { keys: Set<string> | undefined; name: string; expectKey: boolean; last?: string }[] = [];
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\n") line++;
    else if (c === "{" || c === "[") {
      const parent = stack[stack.length - 1];
      const name = parent ? (parent.keys ? `${parent.name ? `${parent.name}.` : ""}${parent.last ?? ""}` : `${parent.name}[]`) : "";
      stack.push({ keys: c === "{" ? new Set() : undefined, name, expectKey: c === "{" });
    } else if (c === "}" || c === "]") stack.pop();
    else if (c === ",") {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    } else if (c === '"') {
      let j = i + 1;
      let s = "";
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === "\\") {
          s += text.slice(j, j + 2);
          j++;
        } else s += text[j];
      }
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(`"${s}"`) as string;
        if (top.keys.has(key)) return { key: top.name ? `${top.name}.${key}` : key, line };
        top.keys.add(key);
        top.last = key;
        top.expectKey = false;
      }
      i = j;
    }
  }
  return undefined;
}
