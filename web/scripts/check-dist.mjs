// Fails the build when dist/ would break under the gateway's CSP
// (`script-src 'self'; style-src 'self'`, no eval) or is missing what the gateway serves.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dist = new URL("../dist/", import.meta.url).pathname;
const problems = [];
const html = readFileSync(join(dist, "index.html"), "utf8");

for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
  const [, attrs, body] = match;
  if (!/\bsrc=/.test(attrs) || body.trim()) problems.push(`inline <script> in index.html: ${match[0].slice(0, 80)}`);
}
if (/<style\b/i.test(html)) problems.push("inline <style> in index.html");
if (/\sstyle\s*=/i.test(html)) problems.push("style= attribute in index.html");
if (/\son[a-z]+\s*=/i.test(html)) problems.push("inline event handler in index.html");

const assets = join(dist, "assets");
let jsTotal = 0;
let jsGzip = 0;
let cssGzip = 0;
let entryGzip = 0;
const entry = /<script[^>]+src="\/assets\/([^"]+\.js)"/.exec(html)?.[1];
for (const name of readdirSync(assets)) {
  const path = join(assets, name);
  const content = readFileSync(path);
  const gz = gzipSync(content).length;
  if (name.endsWith(".js")) {
    jsTotal += statSync(path).size;
    jsGzip += gz;
    if (name === entry) entryGzip = gz;
    const text = content.toString("utf8");
    if (/\beval\(/.test(text)) problems.push(`eval( in ${name}`);
    if (/new Function\(/.test(text)) problems.push(`new Function( in ${name}`);
  }
  if (name.endsWith(".css")) cssGzip += gz;
}
if (!entry) problems.push("no module entry script in index.html");

const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
console.log(`entry JS (gzip): ${kb(entryGzip)}; all JS: ${kb(jsTotal)} (${kb(jsGzip)} gzip, incl. lazy chunks); CSS: ${kb(cssGzip)} gzip`);
if (problems.length) {
  console.error(`CSP check failed:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log("CSP check: index.html has no inline script/style; no eval in bundles.");
