import { createSlice, type PayloadAction } from "@reduxjs/toolkit";
import type { TokenResponse, User } from "../../api/types";

/** Messages the sign-in page shows once, after something ended a session or finished a flow. */
export type AuthNotice =
  | "session_expired"
  | "logged_out"
  | "password_reset"
  | "email_confirmed"
  | "account_deleted"
  | "signed_out_everywhere";

export type AuthStatus =
  /** Before the first refresh on load has answered. */
  | "unknown"
  /** The first refresh could not reach the server; the app offers to try again. */
  | "offline"
  | "authenticated"
  | "anonymous";

export interface AuthState {
  status: AuthStatus;
  /** The access token lives here, in memory only: never in localStorage or sessionStorage. */
  accessToken: string | null;
  /** Epoch milliseconds when the access token expires (from `expires_in`). */
  expiresAt: number | null;
  user: User | null;
  notice: AuthNotice | null;
}

export const initialAuthState: AuthState = {
  status: "unknown",
  accessToken: null,
  expiresAt: null,
  user: null,
  notice: null,
};

const authSlice = createSlice({
  name: "auth",
  initialState: initialAuthState,
  reducers: {
    credentialsReceived(state, action: PayloadAction<TokenResponse & { receivedAt?: number }>) {
      const { access_token, expires_in, user, receivedAt } = action.payload;
      state.status = "authenticated";
      state.accessToken = access_token;
      state.expiresAt = (receivedAt ?? Date.now()) + expires_in * 1000;
      state.user = user;
      state.notice = null;
    },
    userUpdated(state, action: PayloadAction<User>) {
      if (state.user && state.user.id !== action.payload.id) return;
      state.user = action.payload;
    },
    profileUpdated(state, action: PayloadAction<User["profile"]>) {
      if (state.user) state.user.profile = action.payload;
    },
    /** Clears the session; `notice` is shown on the sign-in page. */
    loggedOut(_state, action: PayloadAction<{ notice?: AuthNotice } | undefined>) {
      return { ...initialAuthState, status: "anonymous", notice: action.payload?.notice ?? null };
    },
    restoreUnreachable(state) {
      if (state.status === "unknown") state.status = "offline";
    },
    restoreRetried(state) {
      if (state.status === "offline") state.status = "unknown";
    },
    noticeShown(state, action: PayloadAction<AuthNotice | null>) {
      state.notice = action.payload;
    },
  },
  selectors: {
    selectAuthStatus: (state) => state.status,
    selectAccessToken: (state) => state.accessToken,
    selectUser: (state) => state.user,
    selectNotice: (state) => state.notice,
    selectIsAuthenticated: (state) => state.status === "authenticated",
  },
});

export const {
  credentialsReceived,
  userUpdated,
  profileUpdated,
  loggedOut,
  restoreUnreachable,
  restoreRetried,
  noticeShown,
} = authSlice.actions;
export const { selectAuthStatus, selectAccessToken, selectUser, selectNotice, selectIsAuthenticated } =
  authSlice.selectors;
export const authReducer = authSlice.reducer;
export default authSlice;
