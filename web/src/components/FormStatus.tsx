import type { ReactNode } from "react";

/** What became of a form's last submission: its error (announced at once) or its success. */
export function FormStatus({
  error,
  ok,
  errorTestId,
  okTestId,
}: {
  error?: ReactNode;
  ok?: ReactNode;
  errorTestId?: string;
  okTestId?: string;
}) {
  return (
    <>
      {error ? (
        <p className="form-error" role="alert" data-testid={errorTestId}>
          {error}
        </p>
      ) : null}
      {ok ? (
        <p className="form-ok" role="status" data-testid={okTestId}>
          {ok}
        </p>
      ) : null}
    </>
  );
}

/** A form's primary button, saying so while the submission is on its way. */
export function SubmitButton({
  busy,
  label,
  busyLabel,
  testId,
  block = false,
}: {
  busy: boolean;
  label: string;
  busyLabel: string;
  testId?: string;
  block?: boolean;
}) {
  return (
    <button type="submit" className={block ? "btn btn--primary btn--block" : "btn btn--primary"} disabled={busy} data-testid={testId}>
      {busy ? busyLabel : label}
    </button>
  );
}
