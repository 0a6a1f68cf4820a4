import type { AnswerError, Message } from "../../api/types";
import { readEventStream, SseParser } from "./sse";

export interface StreamHandlers {
  /** A connection opened; `resumed` means it continues after `Last-Event-ID` (keep the text). */
  onOpen: (resumed: boolean) => void;
  /** Deltas, concatenated per network chunk. */
  onDelta: (text: string) => void;
  /** The answer restarted: clear the partial text. */
  onReset: () => void;
  onDone: (message: Message) => void;
  onError: (error: AnswerError) => void;
  onReconnecting: (attempt: number) => void;
}

export interface StreamDeps {
  fetch: typeof fetch;
  url: string;
  getToken: () => string | null;
  /** Refreshes the access token; resolves true when a new one is available. */
  refresh: () => Promise<boolean>;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** How many failed connections in a row before giving up (the caller then polls). */
  maxFailures?: number;
}

export type StreamOutcome =
  | "done"
  | "error"
  | "aborted"
  /** The stream kept failing; poll instead. */
  | "gave_up"
  | "unauthorized"
  | "not_found";

export function backoffDelay(failures: number, serverRetry?: number): number {
  const base = serverRetry ?? 500;
  return Math.min(10_000, base * 2 ** Math.max(0, failures - 1));
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

function parse(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return null;
  }
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

/**
 * Follows one message's answer over SSE until `done` or `error`. After a dropped connection it
 * reconnects with `Last-Event-ID`, so the server continues exactly after the last event applied:
 * no gap and no duplicated text. A 401 triggers one shared refresh and a retry.
 */
export async function followAnswerStream(
  handlers: StreamHandlers,
  deps: StreamDeps,
  signal: AbortSignal,
): Promise<StreamOutcome> {
  const maxFailures = deps.maxFailures ?? 6;
  let lastEventId: string | undefined;
  let failures = 0;
  let refreshed = false;
  let serverRetry: number | undefined;
  // A function, not the property: TypeScript would otherwise assume it cannot change across awaits.
  const aborted = () => signal.aborted;

  const fail = async (): Promise<boolean> => {
    failures += 1;
    if (failures > maxFailures) return false;
    handlers.onReconnecting(failures);
    await deps.sleep(backoffDelay(failures, serverRetry), signal);
    return !aborted();
  };

  while (!aborted()) {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    const token = deps.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (lastEventId !== undefined) headers["Last-Event-ID"] = lastEventId;

    let response: Response;
    try {
      response = await deps.fetch(deps.url, { headers, signal, cache: "no-store", credentials: "same-origin" });
    } catch {
      if (aborted()) return "aborted";
      if (await fail()) continue;
      return aborted() ? "aborted" : "gave_up";
    }

    if (response.status === 401) {
      if (refreshed || !(await deps.refresh())) return "unauthorized";
      refreshed = true;
      continue;
    }
    if (response.status === 404 || response.status === 403) return "not_found";
    if (!response.ok || !response.body) {
      if (await fail()) continue;
      return aborted() ? "aborted" : "gave_up";
    }

    refreshed = false;
    handlers.onOpen(lastEventId !== undefined);
    const parser = new SseParser(lastEventId);
    try {
      for await (const events of readEventStream(response.body, parser)) {
        failures = 0;
        let pending = "";
        const flush = () => {
          if (pending) handlers.onDelta(pending);
          pending = "";
        };
        if (aborted()) return "aborted";
        for (const event of events) {
          switch (event.event) {
            case "delta": {
              const { text } = asObject(parse(event.data));
              if (typeof text === "string") pending += text;
              break;
            }
            case "reset":
              pending = "";
              handlers.onReset();
              break;
            case "done": {
              flush();
              const { message } = asObject(parse(event.data));
              if (typeof message === "object" && message !== null) {
                handlers.onDone(message as Message);
                return "done";
              }
              break;
            }
            case "error": {
              flush();
              const data = asObject(parse(event.data));
              handlers.onError({
                code: typeof data.code === "string" ? data.code : "error",
                message: typeof data.message === "string" ? data.message : "",
                retryable: typeof data.retryable === "boolean" ? data.retryable : true,
              });
              return "error";
            }
            default:
              break;
          }
        }
        flush();
      }
    } catch {
      if (aborted()) return "aborted";
    }
    // Every complete event has been applied (batches are handled before the next read), so the
    // parser's last id is exactly where to resume.
    lastEventId = parser.lastEventId;
    serverRetry = parser.retry ?? serverRetry;
    // The connection ended without `done` (proxy timeout, network drop): resume.
    if (aborted()) return "aborted";
    if (!(await fail())) return aborted() ? "aborted" : "gave_up";
  }
  return "aborted";
}
