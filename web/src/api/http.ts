import type { ApiError, Problem } from "./errors";

/** Absolute base of the API. The gateway serves the UI and `/api` from the same origin. */
export function apiUrl(path: string): string {
  const clean = path.replace(/^\/+/, "");
  return `${window.location.origin}/api/${clean}`;
}

export type QueryParams = Record<string, string | number | boolean | null | undefined>;

export interface RequestArgs {
  url: string;
  method?: string;
  body?: unknown;
  params?: QueryParams;
  headers?: Record<string, string>;
  credentials?: RequestCredentials;
}

export type HttpResult<T = unknown> = { data: T; error?: undefined } | { error: ApiError; data?: undefined };

function withParams(url: string, params?: QueryParams): string {
  if (!params) return url;
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const query = search.toString();
  return query ? `${url}${url.includes("?") ? "&" : "?"}${query}` : url;
}

function retryAfterSeconds(response: Response): number | null {
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.round((date - Date.now()) / 1000));
}

async function readBody(response: Response): Promise<unknown> {
  if (response.status === 204 || response.status === 205) return null;
  const text = await response.text();
  if (!text) return null;
  const type = response.headers.get("Content-Type") ?? "";
  if (type.includes("json")) return JSON.parse(text) as unknown;
  return text;
}

/**
 * One HTTP call: JSON in and out, `FormData` passed through, problem+json errors turned into
 * `ApiError`. Knows nothing about tokens; the caller passes headers.
 */
export async function request<T = unknown>(
  args: RequestArgs,
  signal?: AbortSignal,
): Promise<HttpResult<T>> {
  const headers = new Headers(args.headers);
  let body: BodyInit | undefined;
  if (args.body instanceof FormData || typeof args.body === "string") {
    body = args.body;
  } else if (args.body !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(args.body);
  }
  if (!headers.has("Accept")) headers.set("Accept", "application/json, application/problem+json");
  let response: Response;
  try {
    const init: RequestInit = {
      method: args.method ?? "GET",
      headers,
      body,
      credentials: args.credentials ?? "same-origin",
      cache: "no-store",
    };
    if (signal) init.signal = signal;
    response = await fetch(withParams(apiUrl(args.url), args.params), init);
  } catch (error) {
    if (signal?.aborted) throw error;
    return { error: { status: "FETCH_ERROR" } };
  }
  let parsed: unknown;
  try {
    parsed = await readBody(response);
  } catch {
    return response.ok ? { error: { status: "PARSE_ERROR" } } : { error: { status: response.status } };
  }
  if (!response.ok) {
    const data = typeof parsed === "object" && parsed !== null ? (parsed as Problem) : undefined;
    const error: ApiError = { status: response.status };
    if (data) error.data = data;
    if (response.status === 429 || response.status === 503) error.retryAfter = retryAfterSeconds(response);
    return { error };
  }
  return { data: parsed as T };
}
