import { useCallback, useRef, useState, type SyntheticEvent } from "react";
import { fieldErrors } from "../api/errors";
import { validate, type Validator } from "./validation";

function withError<K extends string>(errors: Partial<Record<K, string>>, name: K, message: string | null) {
  const next: Partial<Record<K, string>> = {};
  for (const key of Object.keys(errors) as K[]) if (key !== name) next[key] = errors[key];
  if (message) next[name] = message;
  return next;
}

/**
 * Form state with client-side validation and server field errors (`errors[field][0]`) merged into
 * the same per-field messages. Focuses the first invalid field after a failed submit.
 */
export function useForm<K extends string>(initial: Record<K, string>, rules: Partial<Record<K, Validator>>) {
  const [values, setValues] = useState(initial);
  const [errors, setErrors] = useState<Partial<Record<K, string>>>({});
  const [submitted, setSubmitted] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  const focusFirstInvalid = useCallback(() => {
    requestAnimationFrame(() => {
      formRef.current?.querySelector<HTMLElement>("[aria-invalid='true']")?.focus();
    });
  }, []);

  const setValue = useCallback(
    (name: K, value: string) => {
      const nextValues = { ...values, [name]: value };
      setValues(nextValues);
      // Re-check as the user types once they tried to submit; drop stale server errors.
      setErrors((current) => {
        if (!(name in current)) return current;
        const rule = rules[name];
        return withError(current, name, submitted && rule ? rule(value, nextValues) : null);
      });
    },
    [rules, submitted, values],
  );

  const blur = useCallback(
    (name: K) => {
      const rule = rules[name];
      if (!rule || !values[name]) return;
      const message = rule(values[name], values);
      setErrors((current) => withError(current, name, message));
    },
    [rules, values],
  );

  const handleSubmit = useCallback(
    (onValid: (values: Record<K, string>) => void | Promise<void>) => (event: SyntheticEvent) => {
      event.preventDefault();
      setSubmitted(true);
      const found = validate(values, rules);
      setErrors(found);
      if (Object.keys(found).length > 0) {
        focusFirstInvalid();
        return;
      }
      void onValid(values);
    },
    [values, rules, focusFirstInvalid],
  );

  /** Shows a server 422's field errors under the matching fields; returns whether any matched. */
  const setServerErrors = useCallback(
    (error: unknown): boolean => {
      const server = fieldErrors(error);
      const known = Object.keys(initial) as K[];
      const matched: Partial<Record<K, string>> = {};
      for (const key of known) {
        const message = server[key];
        if (message) matched[key] = message;
      }
      if (Object.keys(matched).length === 0) return false;
      setErrors(matched);
      focusFirstInvalid();
      return true;
    },
    [initial, focusFirstInvalid],
  );

  const field = (name: K) => ({
    name,
    value: values[name],
    error: errors[name] ?? null,
    onValueChange: (value: string) => setValue(name, value),
    onBlur: () => blur(name),
  });

  return { values, errors, setValues, setValue, field, handleSubmit, setServerErrors, formRef };
}
