import { useCallback, useState } from "react";
import { formError, isApiError, problemCode } from "../../api/errors";
import { t } from "../../i18n";

export interface SendFailure {
  message: string;
  text: string;
  /** Reused on retry, so a request that did reach the server creates nothing new. */
  key: string;
  quotaReached: boolean;
  /** 429 `budget_exceeded`: the message says when the budget resets; retrying cannot help. */
  budgetExceeded: boolean;
  retryable: boolean;
}

export function newKey(): string {
  return typeof crypto !== "undefined" && "randomUUID" in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * Sending with error state: the failure keeps the text and idempotency key for "Retry", and
 * recognises the unconfirmed-email quota (403 `email_not_confirmed`).
 */
export function useSend(send: (text: string, key: string) => Promise<{ error?: unknown }>) {
  const [sending, setSending] = useState(false);
  const [failure, setFailure] = useState<SendFailure | null>(null);

  const attempt = useCallback(
    async (text: string, key: string): Promise<boolean> => {
      setSending(true);
      setFailure(null);
      const result = await send(text, key);
      setSending(false);
      if (!("error" in result) || result.error === undefined) return true;
      const quotaReached = problemCode(result.error) === "email_not_confirmed";
      const budgetExceeded = problemCode(result.error) === "budget_exceeded";
      const status = isApiError(result.error) ? result.error.status : null;
      setFailure({
        message: formError(result.error) ?? t.common.unknownError,
        text,
        key,
        quotaReached,
        budgetExceeded,
        retryable: !quotaReached && !budgetExceeded && status !== 422 && status !== 404,
      });
      return false;
    },
    [send],
  );

  const submit = useCallback((text: string) => attempt(text, newKey()), [attempt]);
  const retry = useCallback(() => (failure ? attempt(failure.text, failure.key) : Promise.resolve(false)), [attempt, failure]);
  const dismiss = useCallback(() => setFailure(null), []);
  return { sending, failure, submit, retry, dismiss };
}
