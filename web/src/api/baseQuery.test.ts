import { describe, expect, it } from "vitest";
import { chatApi } from "../features/chat/chatApi";
import { authApi } from "../features/auth/authApi";
import { deferred, fakeServer, json, problem, route, signedInStore, tokens, user } from "../test/utils";

const dialogs = { data: [], next_cursor: null };

describe("baseQueryWithReauth", () => {
  it("sends the in-memory access token", async () => {
    const server = fakeServer(route("GET", "/api/models", () => json({ data: [] })));
    const store = signedInStore("tok-A");
    await store.dispatch(chatApi.endpoints.getModels.initiate());
    expect(server.calls[0]?.headers.get("Authorization")).toBe("Bearer tok-A");
  });

  it("shares one refresh between concurrent 401s, then retries each once with the new token", async () => {
    const gate = deferred<Response>();
    const server = fakeServer(
      route("POST", "/api/auth/refresh", () => gate.promise),
      (call) => {
        if (!call.path.startsWith("/api/")) return undefined;
        const auth = call.headers.get("Authorization");
        if (auth === "Bearer old") return problem(401, "token_expired");
        if (call.path === "/api/models") return json({ data: [{ id: "parley-demo", name: "Demo", default: true }] });
        if (call.path === "/api/dialogs") return json(dialogs);
        if (call.path === "/api/users/me") return json(user());
        return undefined;
      },
    );
    const store = signedInStore("old");
    const requests = [
      store.dispatch(chatApi.endpoints.getModels.initiate()),
      store.dispatch(chatApi.endpoints.getDialogs.initiate()),
      store.dispatch(authApi.endpoints.getMe.initiate()),
    ];
    // Let all three meet their 401 while the refresh is still pending.
    await new Promise((resolve) => setTimeout(resolve, 20));
    gate.resolve(json(tokens("new")));
    const results = await Promise.all(requests);

    expect(server.callsTo("POST", "/api/auth/refresh")).toHaveLength(1);
    expect(results.every((r) => r.isSuccess)).toBe(true);
    expect(store.getState().auth.accessToken).toBe("new");
    const retried = server.calls.filter((c) => c.headers.get("Authorization") === "Bearer new");
    expect(retried.map((c) => c.path).sort()).toEqual(["/api/dialogs", "/api/models", "/api/users/me"]);
  });

  it("sends the refresh with the cookie, the CSRF header and no body", async () => {
    const server = fakeServer(
      route("POST", "/api/auth/refresh", () => json(tokens("new"))),
      route("GET", "/api/models", (call) =>
        call.headers.get("Authorization") === "Bearer new" ? json({ data: [] }) : problem(401, "token_expired"),
      ),
    );
    await signedInStore("old").dispatch(chatApi.endpoints.getModels.initiate());
    const [refresh] = server.callsTo("POST", "/api/auth/refresh");
    expect(refresh?.credentials).toBe("include");
    expect(refresh?.headers.get("X-Parley-CSRF")).toBe("1");
    expect(refresh?.body).toBeUndefined();
  });

  it("does not refresh again when another request already did", async () => {
    const late = deferred<Response>();
    const server = fakeServer(
      route("POST", "/api/auth/refresh", () => json(tokens("new"))),
      route("GET", "/api/models", (call) =>
        call.headers.get("Authorization") === "Bearer new" ? json({ data: [] }) : problem(401, "token_expired"),
      ),
      // The dialogs request leaves with the old token but its 401 arrives after the refresh.
      route("GET", "/api/dialogs", (call) => (call.headers.get("Authorization") === "Bearer old" ? late.promise : json(dialogs))),
    );
    const store = signedInStore("old");
    const slow = store.dispatch(chatApi.endpoints.getDialogs.initiate());
    await store.dispatch(chatApi.endpoints.getModels.initiate());
    expect(store.getState().auth.accessToken).toBe("new");
    late.resolve(problem(401, "token_expired"));
    expect((await slow).isSuccess).toBe(true);
    expect(server.callsTo("POST", "/api/auth/refresh")).toHaveLength(1);
  });

  it("signs out (session expired) when the refresh is refused, and forgets cached data", async () => {
    const server = fakeServer(
      route("POST", "/api/auth/refresh", () => problem(401, "invalid_refresh_token")),
      route("GET", "/api/models", () => problem(401, "token_expired")),
      route("GET", "/api/dialogs", () => json(dialogs)),
    );
    const store = signedInStore("old");
    await store.dispatch(chatApi.endpoints.getDialogs.initiate());
    const result = await store.dispatch(chatApi.endpoints.getModels.initiate());
    expect(result.isSuccess).toBe(false);
    const { auth } = store.getState();
    expect(auth.status).toBe("anonymous");
    expect(auth.accessToken).toBeNull();
    expect(auth.user).toBeNull();
    expect(auth.notice).toBe("session_expired");
    expect(Object.keys(store.getState().api.queries)).toHaveLength(0);
    expect(server.callsTo("GET", "/api/models")).toHaveLength(1);
  });

  it("keeps the session when the refresh cannot reach the server", async () => {
    fakeServer(
      route("POST", "/api/auth/refresh", () => Promise.reject(new TypeError("offline"))),
      route("GET", "/api/models", () => problem(401, "token_expired")),
    );
    const store = signedInStore("old");
    await store.dispatch(chatApi.endpoints.getModels.initiate());
    expect(store.getState().auth.status).toBe("authenticated");
    expect(store.getState().auth.accessToken).toBe("old");
  });

  it("does not refresh for a wrong password (401 invalid_credentials) or on login", async () => {
    const server = fakeServer(
      route("POST", "/api/auth/login", () => problem(401, "invalid_credentials", "The email or password is wrong.")),
      route("GET", "/api/users/me", () => problem(401, "invalid_credentials")),
    );
    const store = signedInStore("tok");
    await store.dispatch(authApi.endpoints.getMe.initiate());
    await store.dispatch(authApi.endpoints.login.initiate({ email: "a@b.c", password: "x" }));
    expect(server.callsTo("POST", "/api/auth/refresh")).toHaveLength(0);
    expect(store.getState().auth.status).toBe("authenticated");
  });

  it("turns problem+json into an ApiError with field errors", async () => {
    fakeServer(
      route("POST", "/api/auth/register", () =>
        problem(422, "email_taken", "The request has invalid fields.", { errors: { email: ["already taken"] } }),
      ),
    );
    const store = signedInStore();
    const result = await store.dispatch(authApi.endpoints.register.initiate({ email: "a@b.c", username: "a", password: "12345678" }));
    expect("error" in result && result.error).toMatchObject({
      status: 422,
      data: { code: "email_taken", errors: { email: ["already taken"] } },
    });
  });
});
