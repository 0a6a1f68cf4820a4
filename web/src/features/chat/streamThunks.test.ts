import { describe, expect, it } from "vitest";
import type { Message, Page } from "../../api/types";
import { fakeServer, json, route, signedInStore, sseResponse } from "../../test/utils";
import { chatApi, flattenMessages } from "./chatApi";
import { followMessage, regenerateMessage, stopMessage } from "./streamThunks";

const base: Message = {
  id: "m-1",
  dialog_id: "d-1",
  message_text: "hi",
  answer_text: "",
  status: "generating",
  model: "parley-demo",
  error: null,
  usage: null,
  created_at: "2025-01-01T00:00:00Z",
  completed_at: null,
};
const page = (data: Message[]): Page<Message> => ({ data, next_cursor: null });
const delta = (id: string, text: string) => `id: ${id}\nevent: delta\ndata: ${JSON.stringify({ text })}\n\n`;

async function storeWithConversation() {
  const store = signedInStore();
  await store.dispatch(chatApi.endpoints.getMessages.initiate("d-1"));
  return store;
}

function stored(store: ReturnType<typeof signedInStore>) {
  return flattenMessages(chatApi.endpoints.getMessages.select("d-1")(store.getState()).data);
}

describe("followMessage", () => {
  it("streams into the live answer, then stores the final message and forgets the stream", async () => {
    const final = { ...base, status: "completed" as const, answer_text: "Hello", completed_at: "2025-01-01T00:00:02Z" };
    const server = fakeServer(
      route("GET", "/api/dialogs/d-1/messages", () => json(page([base]))),
      route("GET", "/api/messages/m-1/stream", () =>
        sseResponse([delta("1", "Hel"), delta("2", "lo"), `id: 3\nevent: done\ndata: ${JSON.stringify({ message: final })}\n\n`]),
      ),
    );
    const store = await storeWithConversation();
    const states: string[] = [];
    const unsubscribe = store.subscribe(() => {
      const live = store.getState().stream.byMessage["m-1"];
      if (live?.received) states.push(live.text);
    });
    await store.dispatch(followMessage(base));
    unsubscribe();
    expect(states).toEqual(["Hel", "Hello"]);
    expect(stored(store)).toEqual([final]);
    expect(store.getState().stream.byMessage["m-1"]).toBeUndefined();
    expect(server.callsTo("GET", "/api/messages/m-1/stream")[0]?.headers.get("Authorization")).toBe("Bearer access-1");
  });

  it("follows a message only once at a time", async () => {
    const server = fakeServer(
      route("GET", "/api/dialogs/d-1/messages", () => json(page([base]))),
      route("GET", "/api/messages/m-1/stream", () =>
        sseResponse([`event: done\ndata: ${JSON.stringify({ message: { ...base, status: "completed" } })}\n\n`]),
      ),
    );
    const store = await storeWithConversation();
    await Promise.all([store.dispatch(followMessage(base)), store.dispatch(followMessage(base))]);
    expect(server.callsTo("GET", "/api/messages/m-1/stream")).toHaveLength(1);
  });

  it("falls back to polling when the stream keeps failing", async () => {
    let polls = 0;
    fakeServer(
      route("GET", "/api/dialogs/d-1/messages", () => json(page([base]))),
      route("GET", "/api/messages/m-1/stream", () => Promise.reject(new TypeError("blocked by a proxy"))),
      route("GET", "/api/messages/m-1", () => {
        polls += 1;
        return json(polls < 2 ? base : { ...base, status: "completed", answer_text: "Polled" });
      }),
    );
    const store = await storeWithConversation();
    await store.dispatch(
      followMessage(base, { deps: { sleep: () => Promise.resolve(), maxFailures: 1 }, pollIntervalMs: 5 }),
    );
    expect(stored(store)[0]).toMatchObject({ status: "completed", answer_text: "Polled" });
  }, 15_000);

  it("marks the message failed on an error event, keeping the partial answer from the server", async () => {
    fakeServer(
      route("GET", "/api/dialogs/d-1/messages", () => json(page([base]))),
      route("GET", "/api/messages/m-1/stream", () =>
        sseResponse([delta("1", "Part"), 'id: 2\nevent: error\ndata: {"code":"timeout","message":"The model timed out","retryable":true}\n\n']),
      ),
      route("GET", "/api/messages/m-1", () =>
        json({ ...base, status: "failed", answer_text: "Part", error: { code: "timeout", message: "The model timed out", retryable: true } }),
      ),
    );
    const store = await storeWithConversation();
    await store.dispatch(followMessage(base));
    expect(stored(store)[0]).toMatchObject({ status: "failed", answer_text: "Part", error: { code: "timeout" } });
  });
});

describe("regenerateMessage", () => {
  it("resets the answer and follows the new one", async () => {
    const done = { ...base, status: "completed" as const, answer_text: "Old answer" };
    const again = { ...base, status: "completed" as const, answer_text: "New answer" };
    const server = fakeServer(
      route("GET", "/api/dialogs/d-1/messages", () => json(page([done]))),
      route("POST", "/api/messages/m-1/regenerate", () => json({ ...base, status: "queued", answer_text: "" }, 202)),
      route("GET", "/api/messages/m-1/stream", () =>
        sseResponse([delta("1", "New answer"), `id: 2\nevent: done\ndata: ${JSON.stringify({ message: again })}\n\n`]),
      ),
    );
    const store = await storeWithConversation();
    expect(await store.dispatch(regenerateMessage(done))).toBe(true);
    expect(stored(store)[0]?.status).toBe("queued");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stored(store)[0]).toMatchObject({ status: "completed", answer_text: "New answer" });
    expect(server.callsTo("POST", "/api/messages/m-1/regenerate")).toHaveLength(1);
  });
});

describe("stopMessage", () => {
  it("shows the stopped message at once, ignoring deltas a slow worker still sends", async () => {
    const stopped = { ...base, status: "cancelled" as const, answer_text: "Par", completed_at: "2025-01-01T00:00:01Z" };
    const encoder = new TextEncoder();
    fakeServer(
      route("GET", "/api/dialogs/d-1/messages", () => json(page([base]))),
      route("POST", "/api/messages/m-1/cancel", () => json(stopped, 202)),
      route("GET", "/api/messages/m-1/stream", () =>
        // A stream that keeps going: the worker has not noticed the cancellation.
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(encoder.encode(delta("1", "Par")));
              setTimeout(() => controller.enqueue(encoder.encode(delta("2", "tial and more"))), 30);
            },
          }),
          { headers: { "Content-Type": "text/event-stream" } },
        ),
      ),
    );
    const store = await storeWithConversation();
    void store.dispatch(followMessage(base));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await store.dispatch(stopMessage(base))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(stored(store)[0]).toMatchObject({ status: "cancelled", answer_text: "Par" });
    expect(store.getState().stream.byMessage["m-1"]).toBeUndefined();
  });

  it("restores the Stop button when the cancel fails", async () => {
    fakeServer(
      route("GET", "/api/dialogs/d-1/messages", () => json(page([base]))),
      route("POST", "/api/messages/m-1/cancel", () => json({ status: 409, code: "message_ended", detail: "ended" }, 409)),
    );
    const store = await storeWithConversation();
    expect(await store.dispatch(stopMessage(base))).toBe(false);
    expect(store.getState().stream.byMessage["m-1"]?.phase).toBe("streaming");
  });
});
