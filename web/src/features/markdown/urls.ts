/**
 * URL policy for untrusted Markdown (model output). The URL is parsed the way the browser will
 * parse it (so "java\tscript:" and "JaVaScRiPt:" are caught), then only known-safe schemes pass.
 */
const LINK_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);
const IMAGE_PROTOCOLS = new Set(["http:", "https:"]);

function parse(url: string): URL | null {
  try {
    return new URL(url, window.location.origin);
  } catch {
    return null;
  }
}

/** A safe `href`, or null to drop the link (javascript:, data:, vbscript:, file:, ...). */
export function safeHref(url: string): string | null {
  const value = url.trim();
  if (!value) return null;
  if (value.startsWith("#")) return value; // footnotes and in-page anchors
  const parsed = parse(value);
  return parsed && LINK_PROTOCOLS.has(parsed.protocol) ? parsed.href : null;
}

/** A safe image `src` (http/https only; `data:` images are dropped), or null. */
export function safeImageSrc(url: string): string | null {
  const value = url.trim();
  if (!value) return null;
  const parsed = parse(value);
  return parsed && IMAGE_PROTOCOLS.has(parsed.protocol) ? parsed.href : null;
}

export function isSameOrigin(url: string): boolean {
  const parsed = parse(url);
  return parsed !== null && parsed.origin === window.location.origin;
}

export function hostOf(url: string): string {
  return parse(url)?.host ?? url;
}

/** react-markdown's `urlTransform`: every URL attribute of the rendered tree goes through here. */
export function markdownUrlTransform(url: string, key: string, node: { tagName: string }): string | null {
  if (key === "href" && node.tagName === "a") return safeHref(url);
  if (key === "src" && node.tagName === "img") return safeImageSrc(url);
  return null;
}
