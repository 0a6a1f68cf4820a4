import { Navigate, Outlet, useLocation, type Location } from "react-router";
import { selectAuthStatus } from "../features/auth/authSlice";
import { useAppSelector } from "./hooks";

export interface FromState {
  from?: Partial<Pick<Location, "pathname" | "search" | "hash">>;
}

/** Where to go after signing in: back to where the user was sent away from, else /chats. */
export function redirectTarget(state: unknown): string {
  const from = (state as FromState | null)?.from;
  if (!from?.pathname || from.pathname === "/login" || from.pathname === "/register" || from.pathname === "/logout") {
    return "/chats";
  }
  return `${from.pathname}${from.search ?? ""}${from.hash ?? ""}`;
}

/** Signed-in routes: otherwise to /login, remembering the location. */
export function RequireAuth() {
  const status = useAppSelector(selectAuthStatus);
  const location = useLocation();
  if (status !== "authenticated") {
    const state: FromState = { from: { pathname: location.pathname, search: location.search, hash: location.hash } };
    return <Navigate to="/login" replace state={state} />;
  }
  return <Outlet />;
}

/** /login and /register: a signed-in user goes on to /chats (or where they came from). */
export function GuestOnly() {
  const status = useAppSelector(selectAuthStatus);
  const location = useLocation();
  if (status === "authenticated") return <Navigate to={redirectTarget(location.state)} replace />;
  return <Outlet />;
}
