import { t } from "../i18n";

/** RFC 9457 problem details as sent by every Parley service. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: Record<string, string[]>;
}

/** The error value of every API call made through the base query. */
export interface ApiError {
  /** HTTP status, or `FETCH_ERROR` when the server could not be reached. */
  status: number | "FETCH_ERROR" | "PARSE_ERROR";
  data?: Problem;
  /** Seconds from a 429's `Retry-After`. */
  retryAfter?: number | null;
}

export function isApiError(value: unknown): value is ApiError {
  if (typeof value !== "object" || value === null || !("status" in value)) return false;
  const { status } = value;
  return typeof status === "number" || status === "FETCH_ERROR" || status === "PARSE_ERROR";
}

export function problemCode(error: unknown): string | undefined {
  return isApiError(error) ? error.data?.code : undefined;
}

/** `errors[field][0]` for every field of a 422, as the original UI did. */
export function fieldErrors(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isApiError(error) || !error.data?.errors) return out;
  for (const [field, messages] of Object.entries(error.data.errors)) {
    const first = Array.isArray(messages) ? messages[0] : undefined;
    if (typeof first === "string") out[field] = first;
  }
  return out;
}

/**
 * A sentence for the whole form: the problem's `detail`, except for a 422 whose field errors are
 * all shown under known fields (then nothing, the fields say it).
 */
export function formError(error: unknown, knownFields: readonly string[] = []): string | null {
  if (!error) return null;
  if (!isApiError(error)) return t.common.unknownError;
  if (error.status === "FETCH_ERROR") return t.common.networkError;
  if (error.status === 429) return error.data?.detail ?? t.common.rateLimited(error.retryAfter ?? null);
  const fields = Object.keys(fieldErrors(error));
  if (fields.length > 0 && fields.every((f) => knownFields.includes(f))) return null;
  if (fields.length > 0) {
    // Field errors for fields the form does not show: list them rather than lose them.
    return Object.entries(fieldErrors(error))
      .map(([field, message]) => (knownFields.includes(field) ? null : `${field}: ${message}`))
      .filter(Boolean)
      .join(" ");
  }
  return error.data?.detail ?? error.data?.title ?? t.common.unknownError;
}

/** A short message for any failed call. */
export function errorMessage(error: unknown): string {
  return formError(error) ?? t.common.unknownError;
}
