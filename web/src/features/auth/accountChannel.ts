import type { User } from "../../api/types";

/**
 * An account change made in one tab (the email confirmed from the mail's link, which opens a
 * tab of its own) reaches every other open tab of the app at once, over a BroadcastChannel.
 */
const CHANNEL = "parley-account";

interface UserChanged {
  type: "user";
  user: User;
}

export function announceUserChanged(user: User): void {
  if (typeof BroadcastChannel === "undefined") return;
  const channel = new BroadcastChannel(CHANNEL);
  channel.postMessage({ type: "user", user } satisfies UserChanged);
  channel.close();
}

/** Calls `onUser` with each user another tab announces; returns the function that stops it. */
export function listenUserChanged(onUser: (user: User) => void): () => void {
  if (typeof BroadcastChannel === "undefined") return () => undefined;
  const channel = new BroadcastChannel(CHANNEL);
  // another version of the app (a tab open across an upgrade) may post other shapes
  channel.onmessage = (event: MessageEvent<Partial<UserChanged> | null>) => {
    const data = event.data;
    if (data?.type === "user" && data.user) onUser(data.user);
  };
  return () => channel.close();
}
