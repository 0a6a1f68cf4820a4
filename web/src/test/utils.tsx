import { render, type RenderOptions } from "@testing-library/react";
import type { ReactElement, ReactNode } from "react";
import { Provider } from "react-redux";
import { MemoryRouter, Route, Routes, useLocation } from "react-router";
import { vi } from "vitest";
import type { TokenResponse, User } from "../api/types";
import { makeStore, type AppStore, type RootState } from "../app/store";
import { initialAuthState } from "../features/auth/authSlice";

export const ORIGIN = window.location.origin;

export function user(overrides: Partial<User> = {}): User {
  return {
    id: "u-1",
    email: "ada@example.com",
    username: "ada",
    is_email_confirmed: true,
    is_staff: false,
    created_at: "2025-01-02T10:00:00Z",
    profile: { first_name: "Ada", last_name: "Lovelace", avatar_url: null },
    ...overrides,
  };
}

export function tokens(access = "access-1", u: User = user()): TokenResponse {
  return { access_token: access, token_type: "Bearer", expires_in: 900, user: u };
}

/** A store already signed in (or not), fresh for each test. */
export function signedInStore(access = "access-1", u: User = user(), extra: Partial<RootState> = {}): AppStore {
  return makeStore({
    auth: { ...initialAuthState, status: "authenticated", accessToken: access, user: u, expiresAt: Date.now() + 900_000 },
    ...extra,
  });
}

export function anonymousStore(): AppStore {
  return makeStore({ auth: { ...initialAuthState, status: "anonymous" } });
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json", ...headers },
  });
}

export function problem(status: number, code: string, detail = code, extra: Record<string, unknown> = {}): Response {
  return json({ type: "about:blank", title: "Error", status, detail, code, ...extra }, status);
}

export function noContent(): Response {
  return new Response(null, { status: 204 });
}

/** An SSE response whose body delivers `chunks` in order, then ends (or fails, to simulate a drop). */
export function sseResponse(chunks: string[], options: { failAfter?: boolean } = {}): Response {
  const encoder = new TextEncoder();
  let index = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (index < chunks.length) {
        controller.enqueue(encoder.encode(chunks[index++]));
        return;
      }
      if (options.failAfter) controller.error(new TypeError("network error"));
      else controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

export interface Call {
  method: string;
  path: string;
  url: URL;
  headers: Headers;
  body: unknown;
  credentials: RequestCredentials | undefined;
}

export type Handler = (call: Call) => Response | Promise<Response> | undefined;

/**
 * Replaces `fetch` with a tiny router: the first handler that returns a Response answers.
 * Unmatched calls get a 404 problem and are listed in `unmatched`.
 */
export function fakeServer(...handlers: Handler[]) {
  const calls: Call[] = [];
  const unmatched: Call[] = [];
  const list = [...handlers];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url, ORIGIN);
    let body: unknown = init.body;
    if (typeof init.body === "string") {
      try {
        body = JSON.parse(init.body);
      } catch {
        body = init.body;
      }
    }
    const call: Call = {
      method: (init.method ?? "GET").toUpperCase(),
      path: url.pathname,
      url,
      headers: new Headers(init.headers),
      body,
      credentials: init.credentials,
    };
    calls.push(call);
    for (const handler of list) {
      const response = await handler(call);
      if (response) return response;
    }
    unmatched.push(call);
    return problem(404, "not_found", `no fake route for ${call.method} ${call.path}`);
  });
  vi.stubGlobal("fetch", fetchMock);
  return {
    calls,
    unmatched,
    fetch: fetchMock,
    use(handler: Handler) {
      list.unshift(handler);
    },
    callsTo(method: string, path: string | RegExp) {
      return calls.filter((c) => c.method === method && (typeof path === "string" ? c.path === path : path.test(c.path)));
    },
  };
}

/** `route("POST", "/api/auth/login", () => json(...))` */
export function route(method: string, path: string | RegExp, respond: (call: Call) => Response | Promise<Response>): Handler {
  return (call) => {
    if (call.method !== method) return undefined;
    if (typeof path === "string" ? call.path !== path : !path.test(call.path)) return undefined;
    return respond(call);
  };
}

function LocationProbe() {
  const location = useLocation();
  return <output data-testid="location">{`${location.pathname}${location.search}`}</output>;
}

export function renderWithStore(
  ui: ReactElement,
  { store = signedInStore(), route: path = "/", routePattern, ...options }: { store?: AppStore; route?: string; routePattern?: string } & RenderOptions = {},
) {
  const wrapper = ({ children }: { children: ReactNode }) => (
    <Provider store={store}>
      <MemoryRouter initialEntries={[path]}>
        {routePattern ? (
          <Routes>
            <Route path={routePattern} element={children} />
            <Route path="*" element={null} />
          </Routes>
        ) : (
          children
        )}
        <LocationProbe />
      </MemoryRouter>
    </Provider>
  );
  return { store, ...render(ui, { wrapper, ...options }) };
}

export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The whole app (session restore, routes, shell) at `path`, on a fresh store. */
export function renderApp(path: string, store: AppStore = makeStore(), App?: () => ReactElement) {
  const Root = App;
  if (!Root) throw new Error("pass the App component");
  const result = render(
    <Provider store={store}>
      <MemoryRouter initialEntries={[path]}>
        <Root />
        <LocationProbe />
      </MemoryRouter>
    </Provider>,
  );
  return { store, ...result };
}
