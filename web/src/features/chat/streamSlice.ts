import { createSlice, type PayloadAction } from "@reduxjs/toolkit";
import type { AnswerError } from "../../api/types";

export type StreamPhase =
  /** Opening the SSE connection. */
  | "connecting"
  /** Connected; deltas arrive. */
  | "streaming"
  /** The connection dropped; reopening with Last-Event-ID. */
  | "reconnecting"
  /** SSE kept failing; polling `GET /api/messages/{id}` instead. */
  | "polling"
  /** Stop was pressed; waiting for the final state. */
  | "stopping";

/** The live, partial answer of one message while it is generated. */
export interface LiveAnswer {
  phase: StreamPhase;
  text: string;
  /** True once the server sent anything for this connection (before that, show the stored text). */
  received: boolean;
  error: AnswerError | null;
}

export interface StreamState {
  byMessage: Record<string, LiveAnswer | undefined>;
}

export const initialStreamState: StreamState = { byMessage: {} };

const blank = (phase: StreamPhase): LiveAnswer => ({ phase, text: "", received: false, error: null });

const streamSlice = createSlice({
  name: "stream",
  initialState: initialStreamState,
  reducers: {
    /** A connection opened. `resumed`: it continues after Last-Event-ID, so the text is kept. */
    streamOpened(state, action: PayloadAction<{ id: string; resumed: boolean }>) {
      const { id, resumed } = action.payload;
      const live = state.byMessage[id];
      if (!live || !resumed) {
        state.byMessage[id] = { ...blank(live?.phase === "stopping" ? "stopping" : "streaming") };
        return;
      }
      if (live.phase !== "stopping") live.phase = "streaming";
    },
    streamConnecting(state, action: PayloadAction<string>) {
      state.byMessage[action.payload] ??= blank("connecting");
    },
    deltaReceived(state, action: PayloadAction<{ id: string; text: string }>) {
      const live = (state.byMessage[action.payload.id] ??= blank("streaming"));
      live.text += action.payload.text;
      live.received = true;
    },
    /** The worker restarted the answer (a retry): drop the partial text. */
    answerReset(state, action: PayloadAction<string>) {
      const live = (state.byMessage[action.payload] ??= blank("streaming"));
      live.text = "";
      live.received = true;
      live.error = null;
    },
    streamPhaseChanged(state, action: PayloadAction<{ id: string; phase: StreamPhase }>) {
      const live = (state.byMessage[action.payload.id] ??= blank(action.payload.phase));
      if (live.phase === "stopping" && action.payload.phase !== "polling") return;
      live.phase = action.payload.phase;
    },
    stopRequested(state, action: PayloadAction<string>) {
      const live = (state.byMessage[action.payload] ??= blank("stopping"));
      live.phase = "stopping";
    },
    /** The cancel request failed: offer Stop again. */
    stopFailed(state, action: PayloadAction<string>) {
      const live = state.byMessage[action.payload];
      if (live?.phase === "stopping") live.phase = "streaming";
    },
    /** The stream is over (done, error or given up); the stored message is now the truth. */
    streamEnded(state, action: PayloadAction<string>) {
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- keyed by message id
      delete state.byMessage[action.payload];
    },
    allStreamsEnded() {
      return initialStreamState;
    },
  },
  selectors: {
    selectLiveAnswer: (state, id: string): LiveAnswer | undefined => state.byMessage[id],
  },
});

export const {
  streamOpened,
  streamConnecting,
  deltaReceived,
  answerReset,
  streamPhaseChanged,
  stopRequested,
  stopFailed,
  streamEnded,
  allStreamsEnded,
} = streamSlice.actions;
export const { selectLiveAnswer } = streamSlice.selectors;
export const streamReducer = streamSlice.reducer;
