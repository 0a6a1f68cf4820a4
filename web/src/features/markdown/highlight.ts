/**
 * The highlighter, loaded lazily (it is not needed to show the first screen). lowlight runs
 * highlight.js grammars and returns a syntax tree with `hljs-*` classes, which React renders:
 * no HTML strings, no inline styles, no eval — compatible with the gateway's strict CSP.
 */
import type { Root } from "hast";
import { createLowlight } from "lowlight";
import { canonicalLanguage, LANGUAGE_LOADERS } from "./languages";

const lowlight = createLowlight();
const loading = new Map<string, Promise<boolean>>();

export function isLoaded(language: string): boolean {
  return lowlight.registered(language);
}

export function loadLanguage(language: string): Promise<boolean> {
  const name = canonicalLanguage(language);
  if (!name) return Promise.resolve(false);
  if (lowlight.registered(name)) return Promise.resolve(true);
  let promise = loading.get(name);
  if (!promise) {
    const loader = LANGUAGE_LOADERS[name];
    promise = loader
      ? loader()
          .then((module) => {
            lowlight.register(name, module.default);
            return true;
          })
          .catch(() => {
            loading.delete(name);
            return false;
          })
      : Promise.resolve(false);
    loading.set(name, promise);
  }
  return promise;
}

export function highlightCode(language: string, code: string): Root | null {
  const name = canonicalLanguage(language);
  if (!name || !lowlight.registered(name)) return null;
  try {
    return lowlight.highlight(name, code);
  } catch {
    return null;
  }
}
