/** Values the server does not expose; keep them in step with the backend's defaults. */

/** `PARLEY_UNCONFIRMED_MESSAGE_QUOTA`: messages an unconfirmed account may send. */
export const UNCONFIRMED_MESSAGE_QUOTA = 3;

/** Avatar uploads (DESIGN §2). */
export const AVATAR_MAX_BYTES = 5 * 1024 * 1024;
export const AVATAR_TYPES = ["image/jpeg", "image/png", "image/webp"] as const;

/** Below this width the sidebar is a drawer (keep in step with the CSS breakpoint). */
export const DRAWER_MEDIA_QUERY = "(max-width: 767.98px)";
