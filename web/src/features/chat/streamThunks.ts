import { apiUrl, request } from "../../api/http";
import { refreshSession } from "../../api/session";
import { isActive, type Message } from "../../api/types";
import type { AppThunk, RootState } from "../../app/store";
import { abortableSleep, followAnswerStream, type StreamDeps } from "./answerStream";
import { chatApi, patchMessageInPages, upsertMessage } from "./chatApi";
import {
  answerReset,
  deltaReceived,
  streamConnecting,
  streamEnded,
  streamOpened,
  streamPhaseChanged,
  stopFailed,
  stopRequested,
} from "./streamSlice";

/** How often to poll `GET /api/messages/{id}` once SSE has given up. */
export const POLL_INTERVAL_MS = 2500;

/** Stores the final (or latest) state of a message in the conversation's cache. */
export function messageStored(message: Message): AppThunk {
  return (dispatch) => {
    dispatch(chatApi.util.updateQueryData("getMessages", message.dialog_id, (draft) => upsertMessage(draft, message)));
  };
}

export function messagePatched(dialogId: string, id: string, patch: Partial<Message>): AppThunk {
  return (dispatch) => {
    dispatch(chatApi.util.updateQueryData("getMessages", dialogId, (draft) => patchMessageInPages(draft, id, patch)));
  };
}

export interface FollowOptions {
  /** Replace a stream already followed (after Regenerate). */
  restart?: boolean;
  /** For tests: inject the transport. */
  deps?: Partial<StreamDeps>;
  pollIntervalMs?: number;
}

/**
 * Follows a message's answer until it ends: SSE first (resuming after drops), then polling if the
 * stream keeps failing. One follower per message per store; calling again is a no-op.
 */
export function followMessage(message: Pick<Message, "id" | "dialog_id">, options: FollowOptions = {}): AppThunk<Promise<void>> {
  return async (dispatch, getState, services) => {
    const { id, dialog_id: dialogId } = message;
    const existing = services.streams.get(id);
    if (existing && !options.restart) return;
    existing?.abort();
    const controller = new AbortController();
    services.streams.set(id, controller);
    const { signal } = controller;
    const token = () => getState().auth.accessToken;
    dispatch(streamConnecting(id));

    const deps: StreamDeps = {
      fetch: (...args) => fetch(...args),
      url: apiUrl(`messages/${encodeURIComponent(id)}/stream`),
      getToken: token,
      refresh: async () => (await refreshSession(dispatch, getState, services)) === "ok",
      sleep: abortableSleep,
      ...options.deps,
    };

    let outcome: Awaited<ReturnType<typeof followAnswerStream>> = "aborted";
    try {
      outcome = await followAnswerStream(
        {
          // Nothing from a follower that was stopped or replaced may reach the store.
          onOpen: (resumed) => signal.aborted || dispatch(streamOpened({ id, resumed })),
          onDelta: (text) => signal.aborted || dispatch(deltaReceived({ id, text })),
          onReset: () => signal.aborted || dispatch(answerReset(id)),
          onDone: (final) => signal.aborted || dispatch(messageStored(final)),
          onError: (error) => {
            if (signal.aborted) return;
            const live = getState().stream.byMessage[id];
            dispatch(
              messagePatched(dialogId, id, {
                status: "failed",
                error,
                ...(live?.received ? { answer_text: live.text } : {}),
              }),
            );
          },
          onReconnecting: () => signal.aborted || dispatch(streamPhaseChanged({ id, phase: "reconnecting" })),
        },
        deps,
        signal,
      );

      if (outcome === "error" && !signal.aborted) {
        // The stored message has the authoritative partial answer and error.
        const stored = await request<Message>(
          { url: `messages/${encodeURIComponent(id)}`, headers: authHeader(token()) },
          signal,
        ).catch(() => null);
        if (stored?.data && !isActive(stored.data.status)) dispatch(messageStored(stored.data));
      }

      if (outcome === "gave_up") {
        dispatch(streamPhaseChanged({ id, phase: "polling" }));
        await pollUntilFinished(id, signal, dispatch, getState, services, options.pollIntervalMs ?? POLL_INTERVAL_MS);
      }
    } finally {
      // A restart or a sign-out has already replaced or cleared this follower's entry.
      if (services.streams.get(id) === controller) {
        services.streams.delete(id);
        dispatch(streamEnded(id));
      }
    }
  };
}

function authHeader(token: string | null): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function pollUntilFinished(
  id: string,
  signal: AbortSignal,
  dispatch: Parameters<AppThunk>[0],
  getState: () => unknown,
  services: Parameters<AppThunk>[2],
  intervalMs: number,
): Promise<void> {
  let refreshed = false;
  while (!signal.aborted) {
    const token = (getState() as RootState).auth.accessToken;
    const result = await request<Message>({ url: `messages/${encodeURIComponent(id)}`, headers: authHeader(token) }, signal).catch(
      () => null,
    );
    if (result?.data) {
      refreshed = false;
      if (!isActive(result.data.status)) {
        dispatch(messageStored(result.data));
        return;
      }
    } else if (result?.error.status === 401) {
      if (refreshed || (await refreshSession(dispatch, getState, services)) !== "ok") return;
      refreshed = true;
      continue;
    } else if (result?.error.status === 404) {
      return;
    }
    await abortableSleep(intervalMs, signal);
  }
}

/** Stops following a message (the answer goes on on the server). */
export function unfollowMessage(id: string): AppThunk {
  return (dispatch, _getState, services) => {
    const controller = services.streams.get(id);
    if (!controller) return;
    controller.abort();
    services.streams.delete(id);
    dispatch(streamEnded(id));
  };
}

function asMessage(value: unknown): Message | null {
  return typeof value === "object" && value !== null && "id" in value && "status" in value ? (value as Message) : null;
}

/** How long to wait for the stream's final `done` after Stop before asking for the message. */
export const STOP_SETTLE_MS = 4000;

/**
 * Stop: ask the server to cancel; the stream then ends with the partial answer kept. If no
 * stream is delivering it, the stored message is fetched instead.
 */
export function stopMessage(message: Message): AppThunk<Promise<boolean>> {
  return async (dispatch, getState, services) => {
    dispatch(stopRequested(message.id));
    const result = await dispatch(chatApi.endpoints.cancelMessage.initiate(message.id));
    if ("error" in result) {
      dispatch(stopFailed(message.id));
      return false;
    }
    // The server answers with the stopped message (partial text kept): that is final, whatever
    // the stream still carries from a worker that has not noticed the cancellation yet.
    const stopped = asMessage(result.data);
    if (stopped && !isActive(stopped.status)) {
      dispatch(unfollowMessage(message.id));
      dispatch(messageStored(stopped));
      return true;
    }
    const settle = async () => {
      const controller = services.streams.get(message.id);
      if (controller) await abortableSleep(STOP_SETTLE_MS, controller.signal);
      const stillActive = services.streams.has(message.id) || !controller;
      if (!stillActive) return;
      const token = getState().auth.accessToken;
      const stored = await request<Message>({ url: `messages/${encodeURIComponent(message.id)}`, headers: authHeader(token) });
      if (stored.data && !isActive(stored.data.status)) {
        dispatch(unfollowMessage(message.id));
        dispatch(messageStored(stored.data));
      }
    };
    void settle();
    return true;
  };
}

/** Regenerate (or retry a failed answer): the server replaces the answer; follow the new one. */
export function regenerateMessage(message: Message): AppThunk<Promise<boolean>> {
  return async (dispatch) => {
    const result = await dispatch(chatApi.endpoints.regenerateMessage.initiate(message.id));
    if ("error" in result) return false;
    const returned = asMessage(result.data);
    const restarted: Message = {
      ...message,
      ...returned,
      status: returned?.status ?? "queued",
      answer_text: "",
      error: null,
      usage: null,
      completed_at: null,
    };
    dispatch(unfollowMessage(message.id));
    dispatch(messageStored(restarted));
    if (isActive(restarted.status)) void dispatch(followMessage(restarted, { restart: true }));
    return true;
  };
}
