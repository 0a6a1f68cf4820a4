import { en } from "./en";

/** The active strings. A second language would pick its table here (e.g. from `navigator.language`). */
export const t = en;

/** Formats dates and times in the user's locale. */
export const locale: string | undefined = typeof navigator === "undefined" ? undefined : navigator.language;
