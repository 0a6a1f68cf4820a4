import type { RefreshOutcome } from "../api/session";

/**
 * Per-store mutable helpers, passed to thunks, the base query and listeners as the thunk
 * `extraArgument`. Keeping them here (not in module globals) gives every test a clean slate.
 */
export interface StoreServices {
  /** The refresh in flight, shared by every caller that meets a 401 meanwhile. */
  refreshing: Promise<RefreshOutcome> | null;
  /** Answer streams being followed, by message id. */
  streams: Map<string, AbortController>;
}

export function createServices(): StoreServices {
  return { refreshing: null, streams: new Map() };
}
