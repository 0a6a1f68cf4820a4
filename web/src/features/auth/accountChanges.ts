import { useEffect } from "react";
import { useAppDispatch } from "../../app/hooks";
import { listenUserChanged } from "./accountChannel";
import { authApi } from "./authApi";
import { userUpdated } from "./authSlice";

/**
 * While `active`: take the user from other tabs' announcements, and ask the server again when
 * the tab comes back into view (the change may have been made on another device).
 */
export function useFreshUser(active: boolean): void {
  const dispatch = useAppDispatch();
  useEffect(() => {
    if (!active) return;
    const refetch = () => {
      if (document.visibilityState === "visible") {
        void dispatch(authApi.endpoints.getMe.initiate(undefined, { forceRefetch: true, subscribe: false }));
      }
    };
    document.addEventListener("visibilitychange", refetch);
    window.addEventListener("focus", refetch);
    const stopListening = listenUserChanged((user) => dispatch(userUpdated(user)));
    return () => {
      document.removeEventListener("visibilitychange", refetch);
      window.removeEventListener("focus", refetch);
      stopListening();
    };
  }, [active, dispatch]);
}
