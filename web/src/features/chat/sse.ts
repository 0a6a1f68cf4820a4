/**
 * A Server-Sent Events parser (the WHATWG "event stream interpretation"), fed with text chunks
 * that may split lines, line endings or multi-byte characters anywhere.
 *
 * EventSource cannot send an `Authorization` header, so the answer stream is read with `fetch`
 * and this parser instead.
 */
export interface SseEvent {
  /** The `event:` field, or "message" when absent. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The last event id seen so far (it persists across events, as in EventSource). */
  id: string | undefined;
}

export class SseParser {
  private buffer = "";
  private dataLines: string[] = [];
  private hasData = false;
  private eventType = "";
  private lastCharWasCR = false;
  private firstChunk = true;
  private idBuffer: string | undefined;
  /** The id of the last complete event; send it back as `Last-Event-ID` to resume. */
  lastEventId: string | undefined;
  /** A `retry:` value from the server, in milliseconds. */
  retry: number | undefined;

  constructor(lastEventId?: string) {
    this.lastEventId = lastEventId;
    this.idBuffer = lastEventId;
  }

  /** Parses a chunk and returns the events completed by it. */
  feed(chunk: string): SseEvent[] {
    let text = chunk;
    if (this.firstChunk && text.length > 0) {
      this.firstChunk = false;
      if (text.startsWith("\uFEFF")) text = text.slice(1);
    }
    // A "\r\n" split across two chunks: the "\r" already ended the line, skip the "\n".
    if (this.lastCharWasCR && text.startsWith("\n")) text = text.slice(1);
    this.lastCharWasCR = false;

    const events: SseEvent[] = [];
    let start = 0;
    const all = this.buffer + text;
    this.buffer = "";
    for (let i = 0; i < all.length; i++) {
      const ch = all.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue; // \n, \r
      const line = all.slice(start, i);
      if (ch === 13) {
        if (i + 1 < all.length) {
          if (all.charCodeAt(i + 1) === 10) i++;
        } else {
          this.lastCharWasCR = true;
        }
      }
      start = i + 1;
      const event = this.processLine(line);
      if (event) events.push(event);
    }
    this.buffer = all.slice(start);
    return events;
  }

  private processLine(line: string): SseEvent | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null; // a comment, e.g. ": ping"
    const colon = line.indexOf(":");
    let field = line;
    let value = "";
    if (colon !== -1) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
    }
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.dataLines.push(value);
        this.hasData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.idBuffer = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return null;
  }

  private dispatch(): SseEvent | null {
    // As in EventSource: an event's id counts only once the event is complete, even without data.
    this.lastEventId = this.idBuffer;
    // EventSource drops events without data; a named event without data (`event: reset`) is kept
    // here on purpose, so the client does not depend on the server adding an empty `data:` line.
    const dispatchable = this.hasData || this.eventType !== "";
    const event: SseEvent = {
      event: this.eventType || "message",
      data: this.dataLines.join("\n"),
      id: this.lastEventId,
    };
    this.dataLines = [];
    this.hasData = false;
    this.eventType = "";
    return dispatchable ? event : null;
  }
}

/**
 * Reads a response body as SSE, yielding the events completed by each network chunk together
 * (so a burst of deltas can be rendered once). An unterminated event at the end is discarded, as
 * the spec requires: it will be sent again on resume.
 */
export async function* readEventStream(
  body: ReadableStream<Uint8Array>,
  parser: SseParser,
): AsyncGenerator<SseEvent[], void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder("utf-8");
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        finished = true;
        break;
      }
      const events = parser.feed(decoder.decode(value, { stream: true }));
      if (events.length > 0) yield events;
    }
    const tail = decoder.decode();
    if (tail) {
      const events = parser.feed(tail);
      if (events.length > 0) yield events;
    }
  } finally {
    // The consumer stopped early (e.g. after `done`): close the connection rather than leak it.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
