import type { Dispatch } from "@reduxjs/toolkit";
import { credentialsReceived, loggedOut, type AuthState } from "../features/auth/authSlice";
import type { StoreServices } from "../app/services";
import { request } from "./http";
import type { TokenResponse } from "./types";

/** `ok`: a new access token is in the store. `rejected`: the session is over. `network`: try later. */
export type RefreshOutcome = "ok" | "rejected" | "network";

interface HasAuth {
  auth: AuthState;
}

/** The cookie-authenticated call, CSRF header included; the refresh cookie is HttpOnly. */
export function refreshRequest(): ReturnType<typeof request<TokenResponse>> {
  return request<TokenResponse>({
    url: "auth/refresh",
    method: "POST",
    credentials: "include",
    headers: { "X-Parley-CSRF": "1" },
  });
}

/**
 * Refreshes the access token once for all waiting callers: every caller that meets a 401 while a
 * refresh runs waits for that same one, so concurrent requests never rotate the refresh token twice
 * (a second rotation with the already rotated cookie would be taken for token theft). On rejection the session is cleared
 * (with a "session expired" notice when the user had been signed in); on a network failure the
 * state is left alone so a passing outage does not sign anybody out.
 */
export function refreshSession(
  dispatch: Dispatch,
  getState: () => unknown,
  services: StoreServices,
): Promise<RefreshOutcome> {
  if (services.refreshing) return services.refreshing;
  const wasSignedIn = (getState() as HasAuth).auth.status === "authenticated";
  const promise = (async (): Promise<RefreshOutcome> => {
    const result = await refreshRequest();
    if (result.data) {
      dispatch(credentialsReceived(result.data));
      return "ok";
    }
    const { status } = result.error;
    if (status === "FETCH_ERROR" || (typeof status === "number" && status >= 500)) return "network";
    dispatch(loggedOut(wasSignedIn ? { notice: "session_expired" } : undefined));
    return "rejected";
  })().finally(() => {
    services.refreshing = null;
  });
  services.refreshing = promise;
  return promise;
}

/** Ends the session on the server (cookie + CSRF header). Local state is cleared by the caller. */
export async function logoutRequest(): Promise<void> {
  await request({
    url: "auth/logout",
    method: "POST",
    credentials: "include",
    headers: { "X-Parley-CSRF": "1" },
  });
}
