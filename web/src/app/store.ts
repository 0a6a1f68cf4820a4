import {
  combineReducers,
  configureStore,
  createListenerMiddleware,
  isAnyOf,
  type ThunkAction,
  type UnknownAction,
} from "@reduxjs/toolkit";
import { setupListeners } from "@reduxjs/toolkit/query";
import { api } from "../api/api";
import { authReducer, loggedOut } from "../features/auth/authSlice";
import { allStreamsEnded, streamReducer } from "../features/chat/streamSlice";
import { modelChosen, themeChosen, uiReducer } from "./uiSlice";
import { savePreferences } from "./preferences";
import { createServices, type StoreServices } from "./services";

export const rootReducer = combineReducers({
  auth: authReducer,
  stream: streamReducer,
  ui: uiReducer,
  [api.reducerPath]: api.reducer,
});

export type RootState = ReturnType<typeof rootReducer>;

/** A new store with its own services; tests make a fresh one per test. */
export function makeStore(preloadedState?: Partial<RootState>, services: StoreServices = createServices()) {
  const listener = createListenerMiddleware({ extra: services });

  listener.startListening({
    matcher: isAnyOf(themeChosen, modelChosen),
    effect: (_action, listenerApi) => {
      const { theme, model } = (listenerApi.getState() as RootState).ui;
      savePreferences({ theme, model });
    },
  });

  // Signing out, for whatever reason, stops the streams and forgets what was fetched for that user.
  listener.startListening({
    actionCreator: loggedOut,
    effect: (_action, listenerApi) => {
      for (const controller of listenerApi.extra.streams.values()) controller.abort();
      listenerApi.extra.streams.clear();
      listenerApi.dispatch(allStreamsEnded());
      listenerApi.dispatch(api.util.resetApiState());
    },
  });

  const store = configureStore({
    reducer: rootReducer,
    preloadedState,
    middleware: (getDefault) =>
      getDefault({ thunk: { extraArgument: services } })
        .prepend(listener.middleware)
        .concat(api.middleware),
  });
  setupListeners(store.dispatch);
  return store;
}

export type AppStore = ReturnType<typeof makeStore>;
export type AppDispatch = AppStore["dispatch"];
export type AppThunk<R = void> = ThunkAction<R, RootState, StoreServices, UnknownAction>;
