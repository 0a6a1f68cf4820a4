import { logoutRequest, refreshSession } from "../../api/session";
import type { AppThunk } from "../../app/store";
import { loggedOut, restoreRetried, restoreUnreachable, type AuthNotice } from "./authSlice";

/** On load: one refresh through the HttpOnly cookie restores the session, if there is one. */
export function restoreSession(): AppThunk<Promise<void>> {
  return async (dispatch, getState, services) => {
    dispatch(restoreRetried());
    const outcome = await refreshSession(dispatch, getState, services);
    if (outcome === "network") dispatch(restoreUnreachable());
  };
}

/** Ends the session on the server, then locally (even if the server could not be reached). */
export function logout(notice: AuthNotice = "logged_out"): AppThunk<Promise<void>> {
  return async (dispatch) => {
    try {
      await logoutRequest();
    } finally {
      dispatch(loggedOut({ notice }));
    }
  };
}
