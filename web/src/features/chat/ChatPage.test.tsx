import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../../app/App";
import type { Dialog, Message } from "../../api/types";
import { deferred, fakeServer, json, noContent, problem, renderApp, route, sseResponse, tokens } from "../../test/utils";

const now = new Date().toISOString();
const dialog = (id: string, name: string | null, updated_at = now): Dialog => ({
  id,
  user_id: "u-1",
  name,
  model: "parley-demo",
  created_at: updated_at,
  updated_at,
});
const message = (overrides: Partial<Message> = {}): Message => ({
  id: "m-1",
  dialog_id: "d-1",
  message_text: "Write bubble sort in Python",
  answer_text: "",
  status: "queued",
  model: "parley-demo",
  error: null,
  usage: null,
  created_at: now,
  completed_at: null,
  ...overrides,
});
const sse = (event: string, data: unknown, id?: string) => `${id ? `id: ${id}\n` : ""}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

const base = [
  route("POST", "/api/auth/refresh", () => json(tokens())),
  route("GET", "/api/models", () =>
    json({ data: [{ id: "parley-demo", name: "parley-demo", default: true }, { id: "gpt-4o", name: "GPT-4o", default: false }] }),
  ),
];

describe("chat", () => {
  it("creates the dialog with the first message, navigates to it and streams the answer", async () => {
    const created = { ...dialog("d-1", "Bubble sort"), message: message() };
    const final = message({ status: "completed", answer_text: "Here:\n\n```python\ndef bubble_sort(a): pass\n```", completed_at: now });
    const server = fakeServer(
      ...base,
      route("GET", "/api/dialogs", () => json({ data: [], next_cursor: null })),
      route("POST", "/api/dialogs", () => json(created, 201)),
      route("GET", "/api/dialogs/d-1", () => json(dialog("d-1", "Bubble sort"))),
      route("GET", "/api/messages/m-1/stream", () =>
        sseResponse([": ping\n\n", sse("delta", { text: "Here:" }, "1"), sse("delta", { text: "\n\n```python\ndef bubble_sort(a): pass\n```" }, "2"), sse("done", { message: final }, "3")]),
      ),
    );
    renderApp("/chats", undefined, App);
    const userEv = userEvent.setup({ delay: null });
    const input = await screen.findByTestId("composer-input");
    await userEv.type(input, "Write bubble sort in Python{Enter}");

    await waitFor(() => expect(screen.getByTestId("location")).toHaveTextContent("/chats/d-1"));
    expect(server.callsTo("POST", "/api/dialogs")[0]?.body).toEqual({ message_text: "Write bubble sort in Python" });
    const item = await screen.findByTestId("message-item");
    expect(within(item).getByTestId("message-text")).toHaveTextContent("Write bubble sort in Python");
    await waitFor(() => expect(item).toHaveAttribute("data-status", "completed"));
    expect(await within(item).findByTestId("code-language")).toHaveTextContent("python");
    expect(within(item).getByTestId("regenerate-button")).toBeInTheDocument();
    expect(within(item).getByTestId("copy-answer")).toBeInTheDocument();
    // The new dialog is in the sidebar.
    expect(within(screen.getByTestId("sidebar")).getByText("Bubble sort")).toBeInTheDocument();
    // The conversation was seeded from the creation response: no extra messages fetch was needed.
    expect(server.callsTo("GET", "/api/dialogs/d-1/messages")).toHaveLength(0);
  });

  it("Enter sends, Shift+Enter adds a line, and an empty message cannot be sent", async () => {
    const server = fakeServer(...base, route("GET", "/api/dialogs", () => json({ data: [], next_cursor: null })), route("POST", "/api/dialogs", () => new Promise<Response>(() => undefined)));
    renderApp("/chats", undefined, App);
    const userEv = userEvent.setup({ delay: null });
    const input = await screen.findByTestId("composer-input");
    expect(screen.getByTestId("send-button")).toBeDisabled();
    await userEv.type(input, "line one{Shift>}{Enter}{/Shift}line two");
    expect(input).toHaveValue("line one\nline two");
    expect(server.callsTo("POST", "/api/dialogs")).toHaveLength(0);
    await userEv.keyboard("{Enter}");
    await waitFor(() => expect(server.callsTo("POST", "/api/dialogs")).toHaveLength(1));
    expect(server.callsTo("POST", "/api/dialogs")[0]?.body).toMatchObject({ message_text: "line one\nline two" });
  });

  it("stops a streaming answer and keeps the partial text", async () => {
    const stream = deferred<void>();
    const cancelled = message({ status: "cancelled", answer_text: "Partial", completed_at: now });
    const server = fakeServer(
      ...base,
      route("GET", "/api/dialogs", () => json({ data: [dialog("d-1", "Chat")], next_cursor: null })),
      route("GET", "/api/dialogs/d-1", () => json(dialog("d-1", "Chat"))),
      route("GET", "/api/dialogs/d-1/messages", () => json({ data: [message({ status: "generating" })], next_cursor: null })),
      route("POST", "/api/messages/m-1/cancel", () => {
        stream.resolve();
        return json(cancelled, 202);
      }),
      route("GET", "/api/messages/m-1/stream", () => {
        const encoder = new TextEncoder();
        return new Response(
          new ReadableStream({
            async start(controller) {
              controller.enqueue(encoder.encode(sse("delta", { text: "Partial" }, "1")));
              await stream.promise;
              controller.enqueue(encoder.encode(sse("done", { message: cancelled }, "2")));
              controller.close();
            },
          }),
          { headers: { "Content-Type": "text/event-stream" } },
        );
      }),
    );
    renderApp("/chats/d-1", undefined, App);
    const item = await screen.findByTestId("message-item");
    await waitFor(() => expect(within(item).getByTestId("answer-body")).toHaveTextContent("Partial"));
    expect(screen.getByTestId("composer-stop")).toBeInTheDocument();
    fireEvent.click(within(item).getByTestId("stop-button"));
    await waitFor(() => expect(item).toHaveAttribute("data-status", "cancelled"));
    expect(within(item).getByTestId("answer-body")).toHaveTextContent("Partial");
    expect(within(item).getByTestId("answer-cancelled")).toBeInTheDocument();
    expect(server.callsTo("POST", "/api/messages/m-1/cancel")).toHaveLength(1);
    await waitFor(() => expect(screen.getByTestId("send-button")).toBeInTheDocument());
  });

  it("shows a failed answer with its error and retries it", async () => {
    const failed = message({ status: "failed", answer_text: "", error: { code: "provider_error", message: "The model is unavailable.", retryable: true } });
    const server = fakeServer(
      ...base,
      route("GET", "/api/dialogs", () => json({ data: [dialog("d-1", "Chat")], next_cursor: null })),
      route("GET", "/api/dialogs/d-1", () => json(dialog("d-1", "Chat"))),
      route("GET", "/api/dialogs/d-1/messages", () => json({ data: [failed], next_cursor: null })),
      route("POST", "/api/messages/m-1/regenerate", () => json(message({ status: "queued" }), 202)),
      route("GET", "/api/messages/m-1/stream", () =>
        sseResponse([sse("delta", { text: "Works now" }, "1"), sse("done", { message: message({ status: "completed", answer_text: "Works now" }) }, "2")]),
      ),
    );
    renderApp("/chats/d-1", undefined, App);
    const error = await screen.findByTestId("answer-error");
    expect(error).toHaveTextContent("The model is unavailable.");
    fireEvent.click(within(error).getByTestId("retry-button"));
    const item = screen.getByTestId("message-item");
    await waitFor(() => expect(item).toHaveAttribute("data-status", "completed"));
    expect(within(item).getByTestId("answer-body")).toHaveTextContent("Works now");
    expect(server.callsTo("POST", "/api/messages/m-1/regenerate")).toHaveLength(1);
  });

  it("explains the unconfirmed-email limit when sending is refused", async () => {
    fakeServer(
      route("POST", "/api/auth/refresh", () => json(tokens("t", { ...tokens().user, is_email_confirmed: false }))),
      ...base.slice(1),
      route("GET", "/api/users/me", () => json({ ...tokens().user, is_email_confirmed: false })),
      route("GET", "/api/dialogs", () => json({ data: [dialog("d-1", "Chat")], next_cursor: null })),
      route("GET", "/api/dialogs/d-1", () => json(dialog("d-1", "Chat"))),
      route("GET", "/api/dialogs/d-1/messages", () => json({ data: [], next_cursor: null })),
      route("POST", "/api/dialogs/d-1/messages", () => problem(403, "email_not_confirmed", "Confirm your email to send more messages.")),
    );
    renderApp("/chats/d-1", undefined, App);
    const userEv = userEvent.setup({ delay: null });
    await userEv.type(await screen.findByTestId("composer-input"), "hello{Enter}");
    expect(await screen.findByTestId("send-error")).toHaveTextContent("Confirm it to keep chatting");
    expect(screen.queryByTestId("send-retry")).toBeNull();
    expect(screen.getByTestId("confirm-email-banner")).toHaveTextContent("used all messages");
    expect(screen.getByTestId("composer-input")).toHaveValue("hello");
  });

  it("retries a failed send with the same Idempotency-Key", async () => {
    let attempts = 0;
    const server = fakeServer(
      ...base,
      route("GET", "/api/dialogs", () => json({ data: [dialog("d-1", "Chat")], next_cursor: null })),
      route("GET", "/api/dialogs/d-1", () => json(dialog("d-1", "Chat"))),
      route("GET", "/api/dialogs/d-1/messages", () => json({ data: [], next_cursor: null })),
      route("POST", "/api/dialogs/d-1/messages", () => {
        attempts += 1;
        return attempts === 1 ? Promise.reject(new TypeError("offline")) : json(message({ id: "m-2", status: "completed", answer_text: "ok" }), 202);
      }),
    );
    renderApp("/chats/d-1", undefined, App);
    const userEv = userEvent.setup({ delay: null });
    await userEv.type(await screen.findByTestId("composer-input"), "hello{Enter}");
    await userEv.click(await screen.findByTestId("send-retry"));
    await screen.findByTestId("message-item");
    const keys = server.callsTo("POST", "/api/dialogs/d-1/messages").map((c) => c.headers.get("Idempotency-Key"));
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBeTruthy();
    expect(keys[0]).toBe(keys[1]);
    expect(screen.getByTestId("composer-input")).toHaveValue("");
  });

  it("lists dialogs grouped by day, searches, renames and deletes with confirmation", async () => {
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    const server = fakeServer(
      ...base,
      route("GET", "/api/dialogs", (call) => {
        const all = [dialog("d-1", "Python sorting"), dialog("d-2", "Travel plans", yesterday), dialog("d-3", "Old travel notes", "2020-01-01T00:00:00Z")];
        const q = call.url.searchParams.get("q");
        // The first page holds two chats; only the server's search finds the old one.
        return json(q ? { data: all.filter((d) => d.name?.toLowerCase().includes(q)), next_cursor: null } : { data: all.slice(0, 2), next_cursor: "c-2" });
      }),
      route("PATCH", "/api/dialogs/d-1", (call) => json({ ...dialog("d-1", "Renamed"), ...(call.body as object) })),
      route("DELETE", "/api/dialogs/d-2", () => noContent()),
    );
    renderApp("/chats", undefined, App);
    const sidebar = await screen.findByTestId("sidebar");
    await within(sidebar).findByText("Python sorting");
    expect(within(sidebar).getByRole("heading", { name: "Today" })).toBeInTheDocument();
    expect(within(sidebar).getByRole("heading", { name: "Yesterday" })).toBeInTheDocument();

    const userEv = userEvent.setup({ delay: null });
    await userEv.type(within(sidebar).getByTestId("dialog-search"), "trav");
    expect(within(sidebar).queryByText("Python sorting")).toBeNull();
    expect(within(sidebar).getByText("Travel plans")).toBeInTheDocument();
    expect(await within(sidebar).findByText("Old travel notes")).toBeInTheDocument();
    expect(server.calls.some((c) => c.path === "/api/dialogs" && c.url.searchParams.get("q") === "trav")).toBe(true);
    await userEv.clear(within(sidebar).getByTestId("dialog-search"));
    expect(within(sidebar).queryByText("Old travel notes")).toBeNull();

    await userEv.click(within(sidebar).getByRole("button", { name: "Rename: Python sorting" }));
    const input = within(sidebar).getByTestId("rename-input");
    await userEv.clear(input);
    await userEv.type(input, "Renamed{Enter}");
    expect(await within(sidebar).findByText("Renamed")).toBeInTheDocument();
    expect(server.callsTo("PATCH", "/api/dialogs/d-1")[0]?.body).toEqual({ name: "Renamed" });

    await userEv.click(within(sidebar).getByRole("button", { name: "Delete: Travel plans" }));
    const confirm = await screen.findByTestId("delete-dialog");
    expect(confirm).toHaveTextContent("“Travel plans” and all its messages will be deleted");
    expect(server.callsTo("DELETE", "/api/dialogs/d-2")).toHaveLength(0);
    await userEv.click(within(confirm).getByTestId("delete-dialog-confirm"));
    await waitFor(() => expect(within(sidebar).queryByText("Travel plans")).toBeNull());
    expect(server.callsTo("DELETE", "/api/dialogs/d-2")).toHaveLength(1);
  });

  it("labels the demo model clearly and sends the chosen model", async () => {
    const server = fakeServer(
      ...base,
      route("GET", "/api/dialogs", () => json({ data: [], next_cursor: null })),
      route("POST", "/api/dialogs", () => new Promise<Response>(() => undefined)),
    );
    renderApp("/chats", undefined, App);
    const picker = await screen.findByTestId("model-picker");
    expect(within(picker).getByRole("option", { name: /Demo model/ })).toBeInTheDocument();
    expect(screen.getByTestId("demo-badge")).toHaveTextContent("Demo");
    const userEv = userEvent.setup({ delay: null });
    await userEv.selectOptions(picker, "gpt-4o");
    expect(screen.queryByTestId("demo-badge")).toBeNull();
    await userEv.type(screen.getByTestId("composer-input"), "hi{Enter}");
    await waitFor(() => expect(server.callsTo("POST", "/api/dialogs")[0]?.body).toEqual({ message_text: "hi", model: "gpt-4o" }));
  });

  it("loads earlier messages on demand, oldest first", async () => {
    const newer = [message({ id: "m-3", message_text: "third", status: "completed" }), message({ id: "m-4", message_text: "fourth", status: "completed" })];
    const older = [message({ id: "m-1", message_text: "first", status: "completed" }), message({ id: "m-2", message_text: "second", status: "completed" })];
    const server = fakeServer(
      ...base,
      route("GET", "/api/dialogs", () => json({ data: [dialog("d-1", "Chat")], next_cursor: null })),
      route("GET", "/api/dialogs/d-1", () => json(dialog("d-1", "Chat"))),
      route("GET", "/api/dialogs/d-1/messages", (call) =>
        call.url.searchParams.get("before") === "c-1" ? json({ data: older, next_cursor: null }) : json({ data: newer, next_cursor: "c-1" }),
      ),
    );
    renderApp("/chats/d-1", undefined, App);
    await waitFor(() => expect(screen.getAllByTestId("message-item")).toHaveLength(4));
    const texts = screen.getAllByTestId("message-text").map((e) => e.textContent);
    expect(texts).toEqual(["first", "second", "third", "fourth"]);
    expect(server.callsTo("GET", "/api/dialogs/d-1/messages").map((c) => c.url.searchParams.get("before"))).toEqual([null, "c-1"]);
  });
});
