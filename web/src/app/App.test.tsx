import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { fakeServer, json, noContent, problem, renderApp, route, tokens, user } from "../test/utils";
import { App } from "./App";

const emptyDialogs = route("GET", "/api/dialogs", () => json({ data: [], next_cursor: null }));
const models = route("GET", "/api/models", () => json({ data: [{ id: "parley-demo", name: "Parley demo", default: true }] }));
const noSession = route("POST", "/api/auth/refresh", () => problem(401, "invalid_refresh_token"));

describe("App routes and session", () => {
  it("restores the session on load through the refresh cookie", async () => {
    const server = fakeServer(route("POST", "/api/auth/refresh", () => json(tokens("restored"))), emptyDialogs, models);
    const { store } = renderApp("/chats", undefined, App);
    expect(await screen.findByTestId("composer-input")).toBeInTheDocument();
    expect(store.getState().auth.accessToken).toBe("restored");
    expect(server.callsTo("POST", "/api/auth/refresh")).toHaveLength(1);
    expect(server.callsTo("GET", "/api/dialogs")[0]?.headers.get("Authorization")).toBe("Bearer restored");
  });

  it("sends a signed-out visitor to /login and back to the page they wanted after signing in", async () => {
    const server = fakeServer(
      noSession,
      route("POST", "/api/auth/login", (call) =>
        (call.body as { password?: string }).password === "correct horse" ? json(tokens("t1")) : problem(401, "invalid_credentials", "The email or password is wrong."),
      ),
      route("GET", "/api/dialogs/d-9", () => json({ id: "d-9", user_id: "u-1", name: "Old chat", model: null, created_at: "2025-01-01T00:00:00Z", updated_at: "2025-01-01T00:00:00Z" })),
      route("GET", "/api/dialogs/d-9/messages", () => json({ data: [], next_cursor: null })),
      emptyDialogs,
      models,
    );
    renderApp("/chats/d-9", undefined, App);
    expect(await screen.findByTestId("login-form")).toBeInTheDocument();
    expect(screen.getByTestId("location")).toHaveTextContent("/login");

    const userEv = userEvent.setup({ delay: null });
    await userEv.type(screen.getByTestId("login-email"), "ada@example.com");
    await userEv.type(screen.getByTestId("login-password"), "wrong");
    await userEv.click(screen.getByTestId("login-submit"));
    expect(await screen.findByTestId("login-error")).toHaveTextContent("The email or password is wrong.");

    await userEv.clear(screen.getByTestId("login-password"));
    await userEv.type(screen.getByTestId("login-password"), "correct horse");
    await userEv.click(screen.getByTestId("login-submit"));
    await waitFor(() => expect(screen.getByTestId("dialog-title")).toHaveTextContent("Old chat"));
    expect(screen.getByTestId("location")).toHaveTextContent("/chats/d-9");
    expect(server.callsTo("POST", "/api/auth/login")[1]?.credentials).toBe("include");
  });

  it("validates on the client, then shows the server's field errors under the fields", async () => {
    const server = fakeServer(
      noSession,
      route("POST", "/api/auth/register", () =>
        problem(422, "username_taken", "The request has invalid fields.", { errors: { username: ["This username is taken."] } }),
      ),
    );
    renderApp("/register", undefined, App);
    const userEv = userEvent.setup({ delay: null });
    await userEv.click(await screen.findByTestId("register-submit"));
    expect(screen.getByTestId("register-email-error")).toHaveTextContent("required");
    expect(server.callsTo("POST", "/api/auth/register")).toHaveLength(0);

    await userEv.type(screen.getByTestId("register-email"), "ada@example.com");
    await userEv.type(screen.getByTestId("register-username"), "ada");
    await userEv.type(screen.getByTestId("register-password"), "short");
    await userEv.click(screen.getByTestId("register-submit"));
    expect(screen.getByTestId("register-password-error")).toHaveTextContent("8 to 1024");

    await userEv.type(screen.getByTestId("register-password"), "-but-long-enough");
    await userEv.click(screen.getByTestId("register-submit"));
    expect(await screen.findByTestId("register-username-error")).toHaveTextContent("This username is taken.");
    expect(screen.getByTestId("register-username")).toHaveAttribute("aria-invalid", "true");
    expect(screen.queryByTestId("register-error")).toBeNull();
  });

  it("lands a new account in /chats with the confirmation banner and a working resend", async () => {
    const server = fakeServer(
      noSession,
      route("POST", "/api/auth/register", () => json(tokens("t1", user({ is_email_confirmed: false })), 201)),
      route("POST", "/api/auth/email/resend", () => new Response(null, { status: 202 })),
      route("GET", "/api/users/me", () => json(user({ is_email_confirmed: false }))),
      emptyDialogs,
      models,
    );
    renderApp("/register", undefined, App);
    const userEv = userEvent.setup({ delay: null });
    await userEv.type(await screen.findByTestId("register-email"), "ada@example.com");
    await userEv.type(screen.getByTestId("register-username"), "ada");
    await userEv.type(screen.getByTestId("register-password"), "a long password");
    await userEv.click(screen.getByTestId("register-submit"));

    const banner = await screen.findByTestId("confirm-email-banner");
    expect(screen.getByTestId("location")).toHaveTextContent("/chats");
    expect(banner).toHaveTextContent("ada@example.com");
    expect(banner).toHaveTextContent("at most 3 messages");
    await userEv.click(within(banner).getByTestId("resend-confirmation"));
    expect(await within(banner).findByTestId("resend-ok")).toBeInTheDocument();
    expect(server.callsTo("POST", "/api/auth/email/resend")[0]?.headers.get("Authorization")).toBe("Bearer t1");
  });

  it("confirms the email from the link and sends a signed-out user to sign in with a message", async () => {
    const server = fakeServer(noSession, route("POST", "/api/auth/email/confirm", () => json(user())));
    renderApp("/email-verify/tok-123", undefined, App);
    expect(await screen.findByTestId("login-notice")).toHaveTextContent("email is confirmed");
    expect(server.callsTo("POST", "/api/auth/email/confirm")).toHaveLength(1);
    expect(server.callsTo("POST", "/api/auth/email/confirm")[0]?.body).toEqual({ token: "tok-123" });
  });

  it("resets the password and returns to sign-in with a message", async () => {
    const server = fakeServer(noSession, route("POST", "/api/auth/password/reset", () => noContent()));
    renderApp("/password-reset/abc", undefined, App);
    const userEv = userEvent.setup({ delay: null });
    await userEv.type(await screen.findByTestId("reset-password"), "new password 1");
    await userEv.type(screen.getByTestId("reset-confirm"), "new password 2");
    await userEv.click(screen.getByTestId("reset-submit"));
    expect(screen.getByTestId("reset-confirm-error")).toHaveTextContent("do not match");
    await userEv.clear(screen.getByTestId("reset-confirm"));
    await userEv.type(screen.getByTestId("reset-confirm"), "new password 1");
    await userEv.click(screen.getByTestId("reset-submit"));
    expect(await screen.findByTestId("login-notice")).toHaveTextContent("password has been changed");
    expect(server.callsTo("POST", "/api/auth/password/reset")[0]?.body).toEqual({ token: "abc", password: "new password 1" });
  });

  it("signs out through /logout with the CSRF header", async () => {
    const server = fakeServer(route("POST", "/api/auth/refresh", () => json(tokens())), route("POST", "/api/auth/logout", () => noContent()), emptyDialogs, models);
    const { store } = renderApp("/logout", undefined, App);
    expect(await screen.findByTestId("login-notice")).toHaveTextContent("signed out");
    const [logout] = server.callsTo("POST", "/api/auth/logout");
    expect(logout?.headers.get("X-Parley-CSRF")).toBe("1");
    expect(logout?.credentials).toBe("include");
    expect(store.getState().auth.accessToken).toBeNull();
  });

  it("offers a retry when the server cannot be reached on load", async () => {
    fakeServer(route("POST", "/api/auth/refresh", () => Promise.reject(new TypeError("offline"))));
    renderApp("/chats", undefined, App);
    expect(await screen.findByTestId("offline")).toBeInTheDocument();
  });

  it("redirects a signed-in user away from /login", async () => {
    fakeServer(route("POST", "/api/auth/refresh", () => json(tokens())), emptyDialogs, models);
    renderApp("/login", undefined, App);
    await waitFor(() => expect(screen.getByTestId("location")).toHaveTextContent("/chats"));
  });
});
