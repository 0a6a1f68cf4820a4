import { useId, useState, type ChangeEvent, type InputHTMLAttributes } from "react";
import { t } from "../i18n";

export interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, "onChange" | "value" | "id"> {
  label: string;
  value: string;
  onValueChange: (value: string) => void;
  error?: string | null | undefined;
  hint?: string | undefined;
  testId?: string | undefined;
}

/** A labelled input with its hint and error wired to `aria-describedby`. */
export function Field({ label, value, onValueChange, error, hint, testId, type = "text", className, ...rest }: FieldProps) {
  const id = useId();
  const [reveal, setReveal] = useState(false);
  const isPassword = type === "password";
  const describedBy = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " field--invalid" : ""}${className ? ` ${className}` : ""}`}>
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      <div className="field__control">
        <input
          {...rest}
          id={id}
          className="input"
          type={isPassword && reveal ? "text" : type}
          value={value}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
          data-testid={testId}
          onChange={(event: ChangeEvent<HTMLInputElement>) => onValueChange(event.target.value)}
        />
        {isPassword && (
          <button
            type="button"
            className="field__reveal btn btn--ghost btn--small"
            aria-pressed={reveal}
            aria-controls={id}
            onClick={() => setReveal((r) => !r)}
          >
            {reveal ? t.auth.hidePassword : t.auth.showPassword}
          </button>
        )}
      </div>
      {hint && (
        <p className="field__hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p className="field__error" id={`${id}-error`} data-testid={testId ? `${testId}-error` : undefined}>
          {error}
        </p>
      )}
    </div>
  );
}
