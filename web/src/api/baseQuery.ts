import type { BaseQueryFn } from "@reduxjs/toolkit/query";
import type { StoreServices } from "../app/services";
import type { AuthState } from "../features/auth/authSlice";
import type { ApiError } from "./errors";
import { request, type RequestArgs } from "./http";
import { refreshSession } from "./session";

export type QueryArgs = string | RequestArgs;

interface HasAuth {
  auth: AuthState;
}

/** Calls that must never trigger a refresh: they are how a session starts or ends. */
const NO_REAUTH = [
  "auth/login",
  "auth/register",
  "auth/refresh",
  "auth/logout",
  "auth/password/forgot",
  "auth/password/reset",
  "auth/email/confirm",
];

function normalise(args: QueryArgs): RequestArgs {
  return typeof args === "string" ? { url: args } : args;
}

function authorised(args: RequestArgs, token: string | null): RequestArgs {
  if (!token) return args;
  return { ...args, headers: { ...args.headers, Authorization: `Bearer ${token}` } };
}

/**
 * The API's base query: adds the in-memory access token; on a 401 refreshes once (shared by every
 * request waiting at that moment) and retries once. A refused refresh signs the user out, which
 * sends the router to /login with the current location remembered.
 */
export const baseQueryWithReauth: BaseQueryFn<QueryArgs, unknown, ApiError> = async (rawArgs, api) => {
  const args = normalise(rawArgs);
  const getToken = () => (api.getState() as HasAuth).auth.accessToken;
  const sentWith = getToken();
  let result = await request(authorised(args, sentWith), api.signal);
  if (result.error?.status !== 401) return result;

  const path = args.url.replace(/^\/+/, "").replace(/^api\//, "");
  const state = (api.getState() as HasAuth).auth;
  // A wrong password on "change password" or "delete account" is a 401 too, but not an expired token.
  if (
    NO_REAUTH.some((prefix) => path.startsWith(prefix)) ||
    result.error.data?.code === "invalid_credentials" ||
    state.status !== "authenticated"
  ) {
    return result;
  }

  const current = getToken();
  // Another request already refreshed while this one was in flight: just retry with the new token.
  const outcome = current && current !== sentWith ? "ok" : await refreshSession(api.dispatch, api.getState, api.extra as StoreServices);
  if (outcome !== "ok") return result;
  result = await request(authorised(args, getToken()), api.signal);
  return result;
};
