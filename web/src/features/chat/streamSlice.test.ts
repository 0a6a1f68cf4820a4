import { describe, expect, it } from "vitest";
import {
  allStreamsEnded,
  answerReset,
  deltaReceived,
  initialStreamState,
  stopRequested,
  streamConnecting,
  streamEnded,
  streamOpened,
  streamPhaseChanged,
  streamReducer,
} from "./streamSlice";

const run = (...actions: Parameters<typeof streamReducer>[1][]) => actions.reduce(streamReducer, initialStreamState);

describe("streamSlice", () => {
  it("accumulates deltas per message", () => {
    const state = run(
      streamConnecting("m1"),
      streamOpened({ id: "m1", resumed: false }),
      deltaReceived({ id: "m1", text: "Hel" }),
      deltaReceived({ id: "m2", text: "Other" }),
      deltaReceived({ id: "m1", text: "lo" }),
    );
    expect(state.byMessage.m1).toEqual({ phase: "streaming", text: "Hello", received: true, error: null });
    expect(state.byMessage.m2?.text).toBe("Other");
  });

  it("keeps the text when a connection resumes and restarts it on a fresh connection", () => {
    const base = run(streamOpened({ id: "m", resumed: false }), deltaReceived({ id: "m", text: "abc" }));
    const dropped = streamReducer(base, streamPhaseChanged({ id: "m", phase: "reconnecting" }));
    expect(dropped.byMessage.m?.phase).toBe("reconnecting");
    const resumed = streamReducer(dropped, streamOpened({ id: "m", resumed: true }));
    expect(resumed.byMessage.m).toMatchObject({ text: "abc", phase: "streaming" });
    const fresh = streamReducer(dropped, streamOpened({ id: "m", resumed: false }));
    expect(fresh.byMessage.m).toMatchObject({ text: "", received: false });
  });

  it("clears the partial answer on reset", () => {
    const state = run(deltaReceived({ id: "m", text: "draft" }), answerReset("m"));
    expect(state.byMessage.m).toMatchObject({ text: "", received: true });
  });

  it("stays stopping until the stream ends", () => {
    const state = run(deltaReceived({ id: "m", text: "x" }), stopRequested("m"), streamPhaseChanged({ id: "m", phase: "reconnecting" }));
    expect(state.byMessage.m?.phase).toBe("stopping");
    expect(streamReducer(state, streamOpened({ id: "m", resumed: true })).byMessage.m?.phase).toBe("stopping");
  });

  it("forgets a message when its stream ends, and everything on sign-out", () => {
    const state = run(deltaReceived({ id: "a", text: "1" }), deltaReceived({ id: "b", text: "2" }), streamEnded("a"));
    expect(Object.keys(state.byMessage)).toEqual(["b"]);
    expect(streamReducer(state, allStreamsEnded())).toEqual(initialStreamState);
  });
});
