/** Accepts a bare array or a `{data: [...]}` envelope (the API uses the envelope for lists). */
export function listOf<T>(response: T[] | { data?: T[] | null } | null | undefined): T[] {
  if (Array.isArray(response)) return response;
  return response?.data ?? [];
}
