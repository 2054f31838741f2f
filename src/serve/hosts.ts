/**
 * Which Host headers the viewer answers (protection against DNS rebinding: a web page from
 * anywhere whose name is made to resolve to this machine would otherwise read the product
 * through the visitor's browser, the viewer having no password). Accepted, as development
 * servers do: IP literals (they cannot be rebound), localhost and *.localhost, the address the
 * viewer is bound to, this machine's name, and the names given with --allow-host (".example.org"
 * stands for every name under example.org).
 */
import net from "node:net";
import os from "node:os";

/** True for 127.0.0.0/8, ::1 (and its IPv4-mapped form) and localhost: only this machine reaches it. */
export function isLoopback(host: string): boolean {
  const h = bare(host);
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (net.isIPv4(h)) return h.startsWith("127.");
  if (net.isIPv6(h)) return h === "::1" || /^::ffff:127\./.test(h);
  return false;
}

/** Lower case, without brackets (IPv6) and without a trailing dot. */
function bare(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
}

/** The host name of a Host header value ("name:port", "[v6]:port"), or undefined when it is not one. */
export function hostName(header: string): string | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/@]+)(?::\d{1,5})?$/.exec(header.trim());
  return m ? bare(m[1]!) : undefined;
}

export class HostCheck {
  private readonly names: Set<string>;
  private readonly suffixes: string[];

  /** `bound`: the --host address; `allowed`: the --allow-host names. */
  constructor(bound: string, allowed: readonly string[] = []) {
    const names = [bound, os.hostname(), os.hostname().split(".")[0]!, ...allowed].map(bare).filter(Boolean);
    this.names = new Set(names.filter((n) => !n.startsWith(".")));
    this.suffixes = names.filter((n) => n.startsWith("."));
  }

  /** Whether a request with this Host header is answered. */
  accepts(header: string): boolean {
    const name = hostName(header);
    if (name === undefined) return false;
    if (net.isIP(name) || isLoopback(name) || this.names.has(name)) return true;
    return this.suffixes.some((s) => name.endsWith(s));
  }
}
