import { describe, expect, it } from "vitest";
import { makeStore } from "../../app/store";
import { tokens, user } from "../../test/utils";
import {
  authReducer,
  credentialsReceived,
  initialAuthState,
  loggedOut,
  noticeShown,
  profileUpdated,
  restoreRetried,
  restoreUnreachable,
  userUpdated,
} from "./authSlice";

describe("authSlice", () => {
  it("starts unknown, with no token", () => {
    expect(authReducer(undefined, { type: "init" })).toEqual(initialAuthState);
    expect(initialAuthState.status).toBe("unknown");
  });

  it("stores credentials in memory with their expiry and clears any notice", () => {
    const state = authReducer(
      { ...initialAuthState, notice: "session_expired" },
      credentialsReceived({ ...tokens("abc"), receivedAt: 1_000 }),
    );
    expect(state).toMatchObject({ status: "authenticated", accessToken: "abc", expiresAt: 901_000, notice: null });
    expect(state.user?.email).toBe("ada@example.com");
  });

  it("signs out with an optional notice", () => {
    const signedIn = authReducer(undefined, credentialsReceived(tokens()));
    expect(authReducer(signedIn, loggedOut({ notice: "password_reset" }))).toEqual({
      ...initialAuthState,
      status: "anonymous",
      notice: "password_reset",
    });
    expect(authReducer(signedIn, loggedOut(undefined)).notice).toBeNull();
  });

  it("updates only the signed-in user", () => {
    const signedIn = authReducer(undefined, credentialsReceived(tokens()));
    const confirmed = authReducer(signedIn, userUpdated(user({ is_email_confirmed: true, username: "ada2" })));
    expect(confirmed.user?.username).toBe("ada2");
    const other = authReducer(signedIn, userUpdated(user({ id: "someone-else", username: "eve" })));
    expect(other.user?.username).toBe("ada");
  });

  it("updates the profile", () => {
    const signedIn = authReducer(undefined, credentialsReceived(tokens()));
    const next = authReducer(signedIn, profileUpdated({ first_name: "A", last_name: "L", avatar_url: "/api/avatars/x.webp" }));
    expect(next.user?.profile.avatar_url).toBe("/api/avatars/x.webp");
  });

  it("tracks an unreachable server during the first refresh", () => {
    const offline = authReducer(undefined, restoreUnreachable());
    expect(offline.status).toBe("offline");
    expect(authReducer(offline, restoreRetried()).status).toBe("unknown");
    // Only the first restore can be offline; a signed-in session stays signed in.
    const signedIn = authReducer(undefined, credentialsReceived(tokens()));
    expect(authReducer(signedIn, restoreUnreachable()).status).toBe("authenticated");
  });

  it("sets and clears the notice", () => {
    expect(authReducer(undefined, noticeShown("email_confirmed")).notice).toBe("email_confirmed");
  });

  it("never writes the token to web storage", () => {
    const store = makeStore();
    store.dispatch(credentialsReceived(tokens("secret-access-token")));
    const stored = [...Array(localStorage.length).keys()].map((i) => localStorage.getItem(localStorage.key(i) ?? "") ?? "");
    expect(stored.join("")).not.toContain("secret-access-token");
    expect(sessionStorage.length).toBe(0);
  });
});
