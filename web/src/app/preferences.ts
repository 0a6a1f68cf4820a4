/**
 * Non-secret preferences kept across visits (theme, chosen model). Tokens are never stored here
 * or anywhere else outside memory.
 */
export type ThemePreference = "system" | "light" | "dark";

export interface Preferences {
  theme: ThemePreference;
  model: string | null;
}

const KEY = "parley:preferences";
export const defaultPreferences: Preferences = { theme: "system", model: null };

function storage(): Storage | null {
  try {
    // eslint-disable-next-line no-restricted-globals -- preferences only, never credentials
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null; // storage disabled by the browser
  }
}

export function loadPreferences(): Preferences {
  try {
    const raw = storage()?.getItem(KEY);
    if (!raw) return { ...defaultPreferences };
    const parsed = JSON.parse(raw) as Partial<Preferences>;
    const theme = parsed.theme === "light" || parsed.theme === "dark" ? parsed.theme : "system";
    const model = typeof parsed.model === "string" && parsed.model ? parsed.model : null;
    return { theme, model };
  } catch {
    return { ...defaultPreferences };
  }
}

export function savePreferences(preferences: Preferences): void {
  try {
    storage()?.setItem(KEY, JSON.stringify(preferences));
  } catch {
    // Quota or privacy mode: the preference simply does not persist.
  }
}

/** Applies the theme to <html data-theme>; CSS does the rest (no inline styles under the CSP). */
export function applyTheme(theme: ThemePreference, root: HTMLElement = document.documentElement): void {
  const dark =
    theme === "dark" ||
    (theme === "system" && typeof window.matchMedia === "function" && window.matchMedia("(prefers-color-scheme: dark)").matches);
  root.dataset.theme = dark ? "dark" : "light";
  root.dataset.themePreference = theme;
}
