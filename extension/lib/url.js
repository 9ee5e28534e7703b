// Canonical form of a URL for filtering, matching Homeroom.Rules.Filtering.FilterUrl: the host in
// ASCII lower case (punycode for international names), no trailing dot, no port, no user info;
// the path with its query and without the fragment.

const MAX_LENGTH = 8192;
const MAX_HOST_LENGTH = 253;
const CANONICAL_HOST = /^[a-z0-9\-._]*$/;
const ASCII_HOST = /^[A-Za-z0-9\-._]*$/;

/**
 * Parses a URL (`https://Example.COM./a?b`) or a bare host with an optional path (`example.com/a`).
 * @param {string} input
 * @returns {{ host: string, path: string, isIp: boolean } | null} null when it is not a usable URL
 */
export function canonicalize(input) {
  if (typeof input !== 'string') return null;
  const text = input.trim();
  if (text.length === 0 || input.length > MAX_LENGTH || text.startsWith('://')) return null;

  let start = 0;
  const scheme = /^[A-Za-z][A-Za-z0-9+\-.]{0,32}:\/\//.exec(text);
  if (scheme) start = scheme[0].length;

  const rest = text.slice(start);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  let path = authorityEnd < 0 ? '' : rest.slice(authorityEnd);
  const fragment = path.indexOf('#');
  if (fragment >= 0) path = path.slice(0, fragment);

  const at = authority.lastIndexOf('@');
  let host = at >= 0 ? authority.slice(at + 1) : authority;

  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 2 || !isPort(host.slice(close + 1))) return null;
    const literal = host.slice(0, close + 1);
    if (!/^[0-9A-Fa-f:.]+$/.test(literal.slice(1, -1))) return null;
    return { host: literal.toLowerCase(), path, isIp: true };
  }

  const colon = host.indexOf(':');
  if (colon >= 0) {
    if (!isPort(host.slice(colon))) return null;
    host = host.slice(0, colon);
  }

  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0) return null;

  if (!CANONICAL_HOST.test(host)) {
    if (ASCII_HOST.test(host)) {
      host = host.toLowerCase();
    } else if ([...host].some((c) => c.charCodeAt(0) < 0x80 && !/[A-Za-z0-9\-._]/.test(c))) {
      return null;
    } else {
      host = toPunycode(host.toLowerCase());
      if (host === null) return null;
    }
  }

  if (host.length > MAX_HOST_LENGTH || host.startsWith('.') || host.includes('..')) return null;
  return { host, path, isIp: isIPv4(host) };
}

/** Whether a URL is one the filter decides: http and https pages only. */
export function isWebUrl(url) {
  return typeof url === 'string' && /^https?:\/\//i.test(url);
}

function isPort(suffix) {
  if (suffix.length === 0) return true;
  if (!/^:[0-9]{1,5}$/.test(suffix)) return false;
  return Number(suffix.slice(1)) <= 65535;
}

function isIPv4(host) {
  return /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/.test(host);
}

// The WHATWG URL parser applies IDNA (UTS #46) to special-scheme hosts, in browsers and in Node.
function toPunycode(host) {
  try {
    const ascii = new URL(`http://${host}/`).hostname;
    return ascii.length > 0 && CANONICAL_HOST.test(ascii) ? ascii : null;
  } catch {
    return null;
  }
}

/**
 * Every label-boundary suffix of a host, longest (most specific) first. An IP address is only
 * itself: it never matches as a suffix.
 */
export function hostSuffixes(host, isIp) {
  if (isIp) return [host];
  const suffixes = [host];
  for (let i = 0; i < host.length; i++) {
    if (host[i] === '.' && i + 1 < host.length) suffixes.push(host.slice(i + 1));
  }
  return suffixes;
}

/**
 * Whether a path (empty, or starting with `/` or `?`) begins with a rule's prefix (always
 * starting with `/`), ignoring case. An empty path or a bare query is the root.
 */
export function pathStartsWith(path, prefix) {
  const p = path.toLowerCase();
  const r = prefix.toLowerCase();
  if (p.length === 0 || p[0] !== '/') return p.startsWith(r.slice(1));
  return p.startsWith(r);
}
