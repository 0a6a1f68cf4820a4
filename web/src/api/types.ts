/** Shapes of the public API (DESIGN.md §2). Times are ISO-8601 UTC strings, ids are UUIDs. */

export interface Profile {
  first_name: string;
  last_name: string;
  avatar_url: string | null;
}

export interface User {
  id: string;
  email: string;
  username: string;
  is_email_confirmed: boolean;
  is_staff: boolean;
  created_at: string;
  profile: Profile;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  user: User;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface Dialog {
  id: string;
  user_id: string;
  name: string | null;
  model: string | null;
  created_at: string;
  updated_at: string;
  /** Present in the response to `POST /api/dialogs` when a first message was given. */
  messages?: Message[];
}

export type MessageStatus = "queued" | "generating" | "completed" | "failed" | "cancelled";

export interface AnswerError {
  code: string;
  message: string;
  retryable: boolean;
}

export interface Message {
  id: string;
  dialog_id: string;
  message_text: string;
  answer_text: string | null;
  status: MessageStatus;
  model: string | null;
  error: AnswerError | null;
  usage: Record<string, number> | null;
  created_at: string;
  completed_at: string | null;
}

export interface Model {
  id: string;
  name: string;
  default: boolean;
}

export interface Session {
  id: string;
  created_at: string;
  last_used_at: string | null;
  user_agent: string | null;
  ip: string | null;
  current: boolean;
}

export type WebhookEvent = "message.completed" | "message.failed";

export interface Webhook {
  id: string;
  url: string;
  events: WebhookEvent[];
  created_at: string;
  /** Only in the 201 answer to the creation. */
  secret?: string;
}

/** A logged delivery attempt. The backend decides the exact fields; the UI shows what it finds. */
export interface WebhookDelivery {
  id: string;
  event_type?: string;
  type?: string;
  attempt?: number;
  status?: string;
  response_status?: number | null;
  status_code?: number | null;
  success?: boolean;
  error?: string | null;
  created_at?: string;
  attempted_at?: string;
}

export const ACTIVE_STATUSES: readonly MessageStatus[] = ["queued", "generating"];

export function isActive(status: MessageStatus): boolean {
  return ACTIVE_STATUSES.includes(status);
}

/** The built-in offline model; the UI must label it clearly as a demo. */
export const DEMO_MODEL_ID = "parley-demo";
