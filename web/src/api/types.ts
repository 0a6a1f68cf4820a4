/** Shapes of the public API (docs/DESIGN.md §2). Times are ISO-8601 UTC strings, ids are UUIDs. */

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
  /** Who answers a message that names nobody (the assistant's id by default). */
  agent_id?: string;
  instructions?: string;
  created_at: string;
  updated_at: string;
  /** In the response to `POST /api/dialogs` when a first message was given (chat sends `message`). */
  message?: Message | null;
  messages?: Message[];
}

export type MessageStatus = "queued" | "generating" | "completed" | "failed" | "cancelled";

export interface AnswerError {
  code: string;
  message: string;
  retryable: boolean;
}

/** Who answers a message (the built-in assistant unless another agent was addressed). */
export interface AgentRef {
  id: string;
  handle: string;
  name: string;
  avatar_url: string | null;
}

export interface Agent extends AgentRef {
  description: string;
  model: string | null;
  instructions: string;
  temperature: number | null;
  scope: "system" | "personal" | "workspace";
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface AgentInput {
  handle: string;
  name: string;
  description: string;
  model: string | null;
  instructions: string;
  temperature: number | null;
}

export interface Message {
  id: string;
  dialog_id: string;
  message_text: string;
  answer_text: string | null;
  status: MessageStatus;
  model: string | null;
  agent?: AgentRef;
  error: AnswerError | null;
  usage: Record<string, number> | null;
  created_at: string;
  completed_at: string | null;
}

export interface Model {
  id: string;
  name: string;
  provider?: string;
  context_tokens?: number;
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
  /** Set after a 410 Gone (or by the server for another reason). */
  disabled?: boolean;
  disabled_reason?: string | null;
  /** Deliveries since the last success that used up every attempt. */
  failed_deliveries?: number;
  /** After a secret rotation: until when the old secret still signs. */
  previous_secret_expires_at?: string | null;
  /** Only in the 201 answer to the creation. */
  secret?: string;
}

export interface SecretRotated {
  secret: string;
  previous_secret_expires_at: string;
}

export interface WebhookAttempt {
  attempted_at: string;
  status_code: number | null;
  error: string | null;
  duration_ms?: number;
}

/** One event sent to an endpoint, with its attempts (`status`: pending | succeeded | failed). */
export interface WebhookDelivery {
  id: string;
  event_type?: string;
  status?: string;
  attempts?: number;
  next_attempt_at?: string | null;
  created_at?: string;
  attempt_log?: WebhookAttempt[];
  // Tolerated older/alternative spellings.
  attempt?: number;
  response_status?: number | null;
  status_code?: number | null;
  success?: boolean;
  error?: string | null;
  attempted_at?: string;
}

export const ACTIVE_STATUSES: readonly MessageStatus[] = ["queued", "generating"];

export function isActive(status: MessageStatus): boolean {
  return ACTIVE_STATUSES.includes(status);
}

/** The built-in offline model; the UI must label it clearly as a demo. */
export const DEMO_MODEL_ID = "parley-demo";

export type KeyScope = "chat" | "read" | "webhooks";

/** A program's credential (docs/DESIGN.md §11); the key itself is only in `ApiKeyCreated`. */
export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: KeyScope[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export interface ApiKeyCreated extends ApiKey {
  key: string;
}

export interface UsageRow {
  date: string;
  model: string;
  messages: number;
  prompt_tokens: number;
  completion_tokens: number;
  estimated_tokens: number;
}

export interface UsageTotals {
  messages: number;
  prompt_tokens: number;
  completion_tokens: number;
  estimated_tokens: number;
}

export interface BudgetState {
  monthly_tokens: number | null;
  overridden: boolean;
  used: number;
  resets_at: string;
}

export interface Usage {
  data: UsageRow[];
  totals: UsageTotals;
  budget?: BudgetState | null;
}

export interface AdminUsage extends Usage {
  users: (UsageTotals & { user_id: string })[];
}

export interface AdminUser extends User {
  is_active: boolean;
}
