import { describe, expect, it, vi } from "vitest";
import type { Message } from "../../api/types";
import { sseResponse } from "../../test/utils";
import { backoffDelay, followAnswerStream, type StreamDeps, type StreamHandlers } from "./answerStream";

const MESSAGE: Message = {
  id: "m-1",
  dialog_id: "d-1",
  message_text: "hi",
  answer_text: "Hello world",
  status: "completed",
  model: "parley-demo",
  error: null,
  usage: null,
  created_at: "2025-01-01T00:00:00Z",
  completed_at: "2025-01-01T00:00:01Z",
};

const delta = (id: string, text: string) => `id: ${id}\nevent: delta\ndata: ${JSON.stringify({ text })}\n\n`;
const done = (id: string, message = MESSAGE) => `id: ${id}\nevent: done\ndata: ${JSON.stringify({ message })}\n\n`;

/** Applies handler calls to a string, like the UI does, so duplicates would show. */
function recorder() {
  const state = { text: "", opens: [] as boolean[], done: null as Message | null, errors: [] as unknown[], reconnects: 0 };
  const handlers: StreamHandlers = {
    onOpen: (resumed) => {
      state.opens.push(resumed);
      if (!resumed) state.text = "";
    },
    onDelta: (text) => {
      state.text += text;
    },
    onReset: () => {
      state.text = "";
    },
    onDone: (message) => {
      state.done = message;
    },
    onError: (error) => state.errors.push(error),
    onReconnecting: () => {
      state.reconnects += 1;
    },
  };
  return { state, handlers };
}

function deps(responses: (Response | Error)[], overrides: Partial<StreamDeps> = {}) {
  const seen: Headers[] = [];
  const fetchMock = vi.fn((_url: RequestInfo | URL, init?: RequestInit) => {
    seen.push(new Headers(init?.headers));
    const next = responses.shift();
    if (!next) return Promise.reject(new TypeError("no more responses"));
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  });
  const value: StreamDeps = {
    fetch: fetchMock,
    url: "http://localhost/api/messages/m-1/stream",
    getToken: () => "tok",
    refresh: () => Promise.resolve(true),
    sleep: () => Promise.resolve(),
    maxFailures: 3,
    ...overrides,
  };
  return { value, seen, fetchMock };
}

describe("followAnswerStream", () => {
  it("streams deltas until done, with the bearer token and no Last-Event-ID at first", async () => {
    const { state, handlers } = recorder();
    const { value, seen } = deps([sseResponse([": ping\n\n", delta("1-0", "Hello"), delta("1-1", " world"), done("1-2")])]);
    const outcome = await followAnswerStream(handlers, value, new AbortController().signal);
    expect(outcome).toBe("done");
    expect(state.text).toBe("Hello world");
    expect(state.done).toEqual(MESSAGE);
    expect(seen[0]?.get("Authorization")).toBe("Bearer tok");
    expect(seen[0]?.get("Accept")).toBe("text/event-stream");
    expect(seen[0]?.has("Last-Event-ID")).toBe(false);
  });

  it("resumes after a network drop with Last-Event-ID and never duplicates text", async () => {
    const { state, handlers } = recorder();
    const { value, seen } = deps([
      // The connection dies in the middle of the third event.
      sseResponse([delta("1-0", "Hel") + delta("1-1", "lo") + 'id: 1-2\nevent: delta\ndata: {"te'], { failAfter: true }),
      // The server continues right after 1-1, as promised by Last-Event-ID.
      sseResponse([delta("1-2", ", wor"), delta("1-3", "ld"), done("1-4")]),
    ]);
    const outcome = await followAnswerStream(handlers, value, new AbortController().signal);
    expect(outcome).toBe("done");
    expect(seen[1]?.get("Last-Event-ID")).toBe("1-1");
    expect(state.text).toBe("Hello, world");
    expect(state.opens).toEqual([false, true]);
    expect(state.reconnects).toBe(1);
  });

  it("reconnects when the server closes the stream without done (e.g. a proxy timeout)", async () => {
    const { state, handlers } = recorder();
    const { value, seen } = deps([sseResponse([delta("7-0", "a")]), sseResponse([delta("7-1", "b"), done("7-2")])]);
    expect(await followAnswerStream(handlers, value, new AbortController().signal)).toBe("done");
    expect(seen[1]?.get("Last-Event-ID")).toBe("7-0");
    expect(state.text).toBe("ab");
  });

  it("clears the partial answer on reset", async () => {
    const { state, handlers } = recorder();
    const { value } = deps([sseResponse([delta("1", "wrong "), "id: 2\nevent: reset\ndata: {}\n\n", delta("3", "right"), done("4")])]);
    await followAnswerStream(handlers, value, new AbortController().signal);
    expect(state.text).toBe("right");
  });

  it("refreshes once on 401 and retries with the new token", async () => {
    const { state, handlers } = recorder();
    let token = "old";
    const refresh = vi.fn(() => {
      token = "new";
      return Promise.resolve(true);
    });
    const { value, seen } = deps([new Response(null, { status: 401 }), sseResponse([done("1")])], { getToken: () => token, refresh });
    expect(await followAnswerStream(handlers, value, new AbortController().signal)).toBe("done");
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(seen.map((h) => h.get("Authorization"))).toEqual(["Bearer old", "Bearer new"]);
    expect(state.done).not.toBeNull();
  });

  it("stops as unauthorized when the refresh fails", async () => {
    const { handlers } = recorder();
    const { value } = deps([new Response(null, { status: 401 })], { refresh: () => Promise.resolve(false) });
    expect(await followAnswerStream(handlers, value, new AbortController().signal)).toBe("unauthorized");
  });

  it("reports the error event and stops", async () => {
    const { state, handlers } = recorder();
    const { value } = deps([
      sseResponse([delta("1", "part"), 'id: 2\nevent: error\ndata: {"code":"provider_error","message":"boom","retryable":true}\n\n']),
    ]);
    expect(await followAnswerStream(handlers, value, new AbortController().signal)).toBe("error");
    expect(state.text).toBe("part");
    expect(state.errors).toEqual([{ code: "provider_error", message: "boom", retryable: true }]);
  });

  it("gives up after repeated failures so the caller can poll", async () => {
    const { handlers } = recorder();
    const { value, fetchMock } = deps([new TypeError("down"), new TypeError("down"), new Response(null, { status: 502 }), new TypeError("down")]);
    expect(await followAnswerStream(handlers, value, new AbortController().signal)).toBe("gave_up");
    expect(fetchMock).toHaveBeenCalledTimes(4);
  });

  it("returns not_found for a message that is not the user's", async () => {
    const { handlers } = recorder();
    const { value } = deps([new Response(null, { status: 404 })]);
    expect(await followAnswerStream(handlers, value, new AbortController().signal)).toBe("not_found");
  });

  it("stops when aborted", async () => {
    const { handlers } = recorder();
    const controller = new AbortController();
    const { value } = deps([], {
      fetch: ((_url: string, init?: RequestInit) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
        })) as unknown as typeof fetch,
    });
    const pending = followAnswerStream(handlers, value, controller.signal);
    controller.abort();
    expect(await pending).toBe("aborted");
  });

  it("backs off exponentially up to 10 s", () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(n))).toEqual([500, 1000, 2000, 4000, 10_000]);
    expect(backoffDelay(1, 3000)).toBe(3000);
  });
});
