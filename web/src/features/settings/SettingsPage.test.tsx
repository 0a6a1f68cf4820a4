import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Webhook } from "../../api/types";
import { App } from "../../app/App";
import { fakeServer, json, noContent, problem, renderApp, route, tokens, user } from "../../test/utils";

const base = [
  route("POST", "/api/auth/refresh", () => json(tokens())),
  route("GET", "/api/dialogs", () => json({ data: [], next_cursor: null })),
  route("GET", "/api/models", () => json({ data: [] })),
];
const sessions = route("GET", "/api/auth/sessions", () =>
  json({
    data: [
      { id: "s-1", created_at: "2025-01-01T00:00:00Z", last_used_at: "2025-01-02T00:00:00Z", user_agent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0", ip: "10.0.0.1", current: true },
      { id: "s-2", created_at: "2025-01-01T00:00:00Z", last_used_at: null, user_agent: null, ip: null, current: false },
    ],
  }),
);

describe("settings", () => {
  it("creates a webhook and shows its secret once", async () => {
    const hooks: unknown[] = [];
    const server = fakeServer(
      ...base,
      sessions,
      route("GET", "/api/webhooks", () => json({ data: hooks })),
      route("POST", "/api/webhooks", (call) => {
        const hook = { id: "w-1", url: (call.body as { url: string }).url, events: ["message.completed"], created_at: "2025-01-01T00:00:00Z" };
        hooks.push(hook);
        return json({ ...hook, secret: "whsec_abc123" }, 201);
      }),
      route("POST", "/api/webhooks/w-1/test", () => new Response(null, { status: 202 })),
      route("GET", "/api/webhooks/w-1/deliveries", () =>
        json({
          data: [
            {
              id: "dl-1",
              event_type: "webhook.test",
              status: "succeeded",
              attempts: 1,
              next_attempt_at: null,
              created_at: "2025-01-01T00:00:00Z",
              attempt_log: [{ attempted_at: "2025-01-01T00:00:01Z", status_code: 200, error: null, duration_ms: 12 }],
            },
          ],
        }),
      ),
    );
    renderApp("/settings", undefined, App);
    const userEv = userEvent.setup({ delay: null });
    await userEv.type(await screen.findByTestId("webhook-url"), "ftp://nope");
    await userEv.click(screen.getByTestId("webhook-add"));
    expect(screen.getByTestId("webhook-url-error")).toHaveTextContent("http:// or https://");

    await userEv.clear(screen.getByTestId("webhook-url"));
    await userEv.type(screen.getByTestId("webhook-url"), "https://example.com/hook");
    await userEv.click(screen.getByTestId("webhook-event-message.failed"));
    await userEv.click(screen.getByTestId("webhook-add"));
    expect(await screen.findByTestId("webhook-secret")).toHaveTextContent("whsec_abc123");
    expect(server.callsTo("POST", "/api/webhooks")[0]?.body).toEqual({ url: "https://example.com/hook", events: ["message.completed"] });
    const item = await screen.findByTestId("webhook-item");
    await userEv.click(within(item).getByTestId("webhook-test"));
    expect(await within(item).findByText("Test event queued.")).toBeInTheDocument();
    await userEv.click(within(item).getByTestId("webhook-deliveries-toggle"));
    const deliveries = await within(item).findByTestId("webhook-deliveries");
    expect(deliveries).toHaveTextContent("delivered");
    expect(deliveries).toHaveTextContent("HTTP 200");
    expect(deliveries).toHaveTextContent("1 attempt");
    await userEv.click(screen.getByRole("button", { name: "I saved it" }));
    expect(screen.queryByTestId("webhook-secret")).toBeNull();
  });

  it("shows why a webhook was disabled, enables it, retries a delivery and rotates the secret", async () => {
    let hook: Webhook = {
      id: "w-1",
      url: "https://example.com/hook",
      events: ["message.completed"],
      created_at: "2025-01-01T00:00:00Z",
      disabled: true,
      disabled_reason: "5 deliveries in a row failed.",
      failed_deliveries: 5,
      previous_secret_expires_at: null,
    };
    const server = fakeServer(
      ...base,
      sessions,
      route("GET", "/api/webhooks", () => json({ data: [hook] })),
      route("PATCH", "/api/webhooks/w-1", () => {
        hook = { ...hook, disabled: false, disabled_reason: null, failed_deliveries: 0 };
        return json(hook);
      }),
      route("POST", "/api/webhooks/w-1/rotate-secret", () => json({ secret: "whsec_new", previous_secret_expires_at: "2025-01-02T00:00:00Z" })),
      route("POST", "/api/webhooks/w-1/deliveries/dl-1/retry", () => json({ delivery_id: "dl-1", status: "pending" }, 202)),
      route("GET", "/api/webhooks/w-1/deliveries", () =>
        json({
          data: [
            {
              id: "dl-1",
              event_type: "message.completed",
              status: "failed",
              attempts: 8,
              next_attempt_at: null,
              created_at: "2025-01-01T00:00:00Z",
              attempt_log: [{ attempted_at: "2025-01-01T00:00:01Z", status_code: 503, error: null, duration_ms: 12 }],
            },
          ],
        }),
      ),
    );
    renderApp("/settings", undefined, App);
    const userEv = userEvent.setup({ delay: null });
    const item = await screen.findByTestId("webhook-item");
    expect(within(item).getByTestId("webhook-disabled-reason")).toHaveTextContent("5 deliveries in a row failed.");
    await userEv.click(within(item).getByTestId("webhook-deliveries-toggle"));
    await within(item).findByTestId("webhook-delivery");
    expect(within(item).queryByTestId("webhook-delivery-retry")).toBeNull(); // enable it first

    await userEv.click(within(item).getByTestId("webhook-enable"));
    expect(server.callsTo("PATCH", "/api/webhooks/w-1")[0]?.body).toEqual({ disabled: false });
    await waitFor(() => expect(within(item).queryByTestId("webhook-disabled-reason")).toBeNull());
    await userEv.click(await within(item).findByTestId("webhook-delivery-retry"));
    await waitFor(() => expect(server.callsTo("POST", "/api/webhooks/w-1/deliveries/dl-1/retry")).toHaveLength(1));

    await userEv.click(within(item).getByTestId("webhook-rotate"));
    expect(await screen.findByTestId("webhook-secret")).toHaveTextContent("whsec_new");
    expect(screen.getByTestId("webhook-secret-box")).toHaveTextContent("The old secret keeps signing beside it until");
  });

  it("signs out other sessions and everywhere", async () => {
    const server = fakeServer(
      ...base,
      sessions,
      route("GET", "/api/webhooks", () => json({ data: [] })),
      route("DELETE", "/api/auth/sessions/s-2", () => noContent()),
      route("POST", "/api/auth/logout-all", () => noContent()),
    );
    const { store } = renderApp("/settings", undefined, App);
    const list = await screen.findByTestId("session-list");
    await waitFor(() => expect(within(list).getAllByTestId("session-item")).toHaveLength(2));
    expect(within(list).getAllByTestId("session-item")[0]).toHaveTextContent("This device");
    const userEv = userEvent.setup({ delay: null });
    await userEv.click(within(within(list).getAllByTestId("session-item")[1]!).getByTestId("revoke-session"));
    await waitFor(() => expect(server.callsTo("DELETE", "/api/auth/sessions/s-2")).toHaveLength(1));

    await userEv.click(screen.getByTestId("logout-all"));
    await userEv.click(within(await screen.findByTestId("logout-all-dialog")).getByTestId("logout-all-dialog-confirm"));
    expect(await screen.findByTestId("login-notice")).toHaveTextContent("signed out on every device");
    expect(store.getState().auth.status).toBe("anonymous");
  });

  it("changes the password, showing a wrong current password under its field", async () => {
    const server = fakeServer(
      ...base,
      sessions,
      route("GET", "/api/webhooks", () => json({ data: [] })),
      route("POST", "/api/auth/password/change", (call) =>
        (call.body as { current_password: string }).current_password === "right password"
          ? noContent()
          : problem(401, "invalid_credentials", "The current password is wrong."),
      ),
    );
    renderApp("/settings", undefined, App);
    const userEv = userEvent.setup({ delay: null });
    await userEv.type(await screen.findByTestId("current-password"), "wrong password");
    await userEv.type(screen.getByTestId("new-password"), "brand new password");
    await userEv.click(screen.getByTestId("change-password"));
    expect(await screen.findByTestId("current-password-error")).toHaveTextContent("The current password is wrong.");
    expect(server.callsTo("POST", "/api/auth/refresh")).toHaveLength(1);

    await userEv.clear(screen.getByTestId("current-password"));
    await userEv.type(screen.getByTestId("current-password"), "right password");
    await userEv.click(screen.getByTestId("change-password"));
    expect(await screen.findByTestId("password-changed")).toBeInTheDocument();
  });

  it("deletes the account after the password is confirmed", async () => {
    const server = fakeServer(...base, sessions, route("GET", "/api/webhooks", () => json({ data: [] })), route("DELETE", "/api/users/me", () => noContent()));
    renderApp("/settings", undefined, App);
    const userEv = userEvent.setup({ delay: null });
    await userEv.click(await screen.findByTestId("delete-account"));
    const dialog = await screen.findByTestId("delete-account-dialog");
    expect(within(dialog).getByTestId("delete-account-dialog-confirm")).toBeDisabled();
    await userEv.type(within(dialog).getByTestId("delete-account-password"), "my password");
    await userEv.click(within(dialog).getByTestId("delete-account-dialog-confirm"));
    expect(await screen.findByTestId("login-notice")).toHaveTextContent("account has been deleted");
    expect(server.callsTo("DELETE", "/api/users/me")[0]?.body).toEqual({ password: "my password" });
  });

  it("switches the theme", async () => {
    fakeServer(...base, sessions, route("GET", "/api/webhooks", () => json({ data: [] })));
    renderApp("/settings", undefined, App);
    fireEvent.click(await screen.findByTestId("theme-dark"));
    expect(document.documentElement.dataset.theme).toBe("dark");
    fireEvent.click(screen.getByTestId("theme-light"));
    expect(document.documentElement.dataset.theme).toBe("light");
  });
});

describe("profile", () => {
  it("saves names and username, showing server field errors", async () => {
    const server = fakeServer(
      ...base,
      route("PATCH", "/api/users/me", () => problem(422, "username_taken", "Invalid", { errors: { username: ["Taken."] } })),
      route("PATCH", "/api/users/me/profile", (call) => json({ ...(call.body as object), avatar_url: null })),
    );
    const { store } = renderApp("/profile", undefined, App);
    const userEv = userEvent.setup({ delay: null });
    const first = await screen.findByTestId("profile-first-name");
    await userEv.clear(first);
    await userEv.type(first, "Augusta");
    await userEv.click(screen.getByTestId("profile-save"));
    expect(await screen.findByTestId("profile-saved")).toBeInTheDocument();
    expect(store.getState().auth.user?.profile.first_name).toBe("Augusta");

    await userEv.clear(screen.getByTestId("profile-username"));
    await userEv.type(screen.getByTestId("profile-username"), "taken");
    await userEv.click(screen.getByTestId("profile-save"));
    expect(await screen.findByTestId("profile-username-error")).toHaveTextContent("Taken.");
    expect(server.callsTo("PATCH", "/api/users/me")[0]?.body).toEqual({ username: "taken" });
  });

  it("checks, previews and uploads an avatar as multipart `file`", async () => {
    // jsdom has no object URLs.
    URL.createObjectURL = vi.fn(() => "blob:preview");
    URL.revokeObjectURL = vi.fn();
    const server = fakeServer(
      ...base,
      route("PUT", "/api/users/me/avatar", () => json({ ...user().profile, avatar_url: "http://elsewhere.example/api/avatars/new.webp" })),
    );
    const { store } = renderApp("/profile", undefined, App);
    const input = await screen.findByTestId("avatar-input");
    const userEv = userEvent.setup({ delay: null, applyAccept: false });

    await userEv.upload(input, new File(["gif"], "a.gif", { type: "image/gif" }));
    expect(screen.getByTestId("avatar-error")).toHaveTextContent("JPEG, PNG or WebP");
    const big = new File([new Uint8Array(5 * 1024 * 1024 + 1)], "big.png", { type: "image/png" });
    await userEv.upload(input, big);
    expect(screen.getByTestId("avatar-error")).toHaveTextContent("larger than 5 MB");

    await userEv.upload(input, new File(["png"], "me.png", { type: "image/png" }));
    expect(screen.getByAltText("Preview of the new avatar")).toHaveAttribute("src", "blob:preview");
    await userEv.click(screen.getByTestId("avatar-upload"));
    await waitFor(() => expect(store.getState().auth.user?.profile.avatar_url).toContain("new.webp"));
    const body = server.callsTo("PUT", "/api/users/me/avatar")[0]?.body;
    expect(body).toBeInstanceOf(FormData);
    expect((body as FormData).get("file")).toBeInstanceOf(File);
    // Served from this origin whatever host the public URL names (CSP img-src 'self').
    expect(screen.getByAltText("Your avatar")).toHaveAttribute("src", "/api/avatars/new.webp");
  });
});
