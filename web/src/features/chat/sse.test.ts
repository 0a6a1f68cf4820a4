import { describe, expect, it } from "vitest";
import { readEventStream, SseParser, type SseEvent } from "./sse";

const STREAM =
  ": ping\n\n" +
  "id: 1-0\nevent: delta\ndata: {\"text\":\"Hel\"}\n\n" +
  "id: 1-1\nevent: delta\ndata: {\"text\":\"lo\"}\n\n" +
  "id: 1-2\nevent: done\ndata: {\"message\":\n" +
  "data: {\"id\":\"m\"}}\n\n";

function feedAll(parser: SseParser, chunks: string[]): SseEvent[] {
  return chunks.flatMap((chunk) => parser.feed(chunk));
}

describe("SseParser", () => {
  it("parses events, ids, names and multi-line data", () => {
    const events = feedAll(new SseParser(), [STREAM]);
    expect(events).toEqual([
      { event: "delta", data: '{"text":"Hel"}', id: "1-0" },
      { event: "delta", data: '{"text":"lo"}', id: "1-1" },
      { event: "done", data: '{"message":\n{"id":"m"}}', id: "1-2" },
    ]);
  });

  it("gives the same events wherever the chunks split", () => {
    const whole = feedAll(new SseParser(), [STREAM]);
    for (let cut = 1; cut < STREAM.length; cut++) {
      const parts = feedAll(new SseParser(), [STREAM.slice(0, cut), STREAM.slice(cut)]);
      expect(parts, `split at ${cut}`).toEqual(whole);
    }
    const oneByOne = feedAll(new SseParser(), STREAM.split(""));
    expect(oneByOne).toEqual(whole);
  });

  it("accepts CRLF and CR line endings, even with CRLF split across chunks", () => {
    const crlf = STREAM.replace(/\n/g, "\r\n");
    const cr = STREAM.replace(/\n/g, "\r");
    const expected = feedAll(new SseParser(), [STREAM]);
    expect(feedAll(new SseParser(), [crlf])).toEqual(expected);
    expect(feedAll(new SseParser(), [cr])).toEqual(expected);
    for (let cut = 1; cut < crlf.length; cut++) {
      expect(feedAll(new SseParser(), [crlf.slice(0, cut), crlf.slice(cut)]), `crlf split at ${cut}`).toEqual(expected);
    }
  });

  it("ignores comments, unknown fields and unnamed events without data", () => {
    const events = feedAll(new SseParser(), [": ping\n\nfoo: bar\n\nid: 1\n\nevent: reset\ndata: {}\n\n"]);
    expect(events).toEqual([{ event: "reset", data: "{}", id: "1" }]);
  });

  it("keeps a named event even without a data line", () => {
    expect(feedAll(new SseParser(), ["event: reset\n\n"])).toEqual([{ event: "reset", data: "", id: undefined }]);
  });

  it("defaults the event name to message, strips one leading space and keeps a field without a colon", () => {
    const events = feedAll(new SseParser(), ["data:  two spaces\ndata\n\n"]);
    expect(events).toEqual([{ event: "message", data: " two spaces\n", id: undefined }]);
  });

  it("keeps the last id across events and commits it only when the event is complete", () => {
    const parser = new SseParser("0-9");
    expect(parser.feed("data: a\n\n")).toEqual([{ event: "message", data: "a", id: "0-9" }]);
    parser.feed("id: 5-0\ndata: partial");
    // The event is not finished: resuming must start after the previous complete one.
    expect(parser.lastEventId).toBe("0-9");
    parser.feed("\n\n");
    expect(parser.lastEventId).toBe("5-0");
    // An id-only event still moves the resume point, as in EventSource.
    parser.feed("id: 6-0\n\n");
    expect(parser.lastEventId).toBe("6-0");
  });

  it("ignores ids containing NUL, reads retry, and strips a leading BOM", () => {
    const parser = new SseParser();
    const events = parser.feed("\uFEFFid: a\0b\nretry: 1500\ndata: x\n\n");
    expect(events).toEqual([{ event: "message", data: "x", id: undefined }]);
    expect(parser.retry).toBe(1500);
  });
});

describe("readEventStream", () => {
  function bodyOf(parts: Uint8Array[]): ReadableStream<Uint8Array> {
    let i = 0;
    return new ReadableStream({
      pull(controller) {
        const part = parts[i++];
        if (part) controller.enqueue(part);
        else controller.close();
      },
    });
  }

  it("decodes UTF-8 split inside a character and batches events per chunk", async () => {
    const bytes = new TextEncoder().encode('event: delta\ndata: {"text":"héllo 👋"}\n\nevent: delta\ndata: {"text":"!"}\n\n');
    const split = bytes.indexOf(0xf0) + 2; // in the middle of the emoji
    const batches: SseEvent[][] = [];
    for await (const batch of readEventStream(bodyOf([bytes.slice(0, split), bytes.slice(split)]), new SseParser())) batches.push(batch);
    expect(batches.flat().map((e) => JSON.parse(e.data) as { text: string })).toEqual([{ text: "héllo 👋" }, { text: "!" }]);
    expect(batches).toHaveLength(1);
  });

  it("drops an unterminated event at the end of the stream", async () => {
    const bytes = new TextEncoder().encode("data: complete\n\ndata: cut off");
    const events: SseEvent[] = [];
    const parser = new SseParser();
    for await (const batch of readEventStream(bodyOf([bytes]), parser)) events.push(...batch);
    expect(events.map((e) => e.data)).toEqual(["complete"]);
  });
});
