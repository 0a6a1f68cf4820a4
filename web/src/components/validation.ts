import { t } from "../i18n";

/** Client-side checks mirroring the server's rules (the server remains the authority). */
export type Validator = (value: string, values: Readonly<Record<string, string>>) => string | null;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const USERNAME = /^[A-Za-z0-9_.-]{1,25}$/;

export const required: Validator = (value) => (value.trim() ? null : t.validation.required);
export const email: Validator = (value, values) =>
  required(value, values) ?? (EMAIL.test(value.trim()) ? null : t.validation.email);
export const newPassword: Validator = (value, values) =>
  required(value, values) ?? (value.length >= 8 && value.length <= 1024 ? null : t.validation.passwordLength);
export const username: Validator = (value, values) =>
  required(value, values) ?? (USERNAME.test(value) ? null : t.validation.usernameFormat);
/** The value must equal the field `other` (e.g. "repeat the password"). */
export const sameAs =
  (other: string): Validator =>
  (value, values) =>
    value === values[other] ? null : t.validation.passwordsDiffer;
export const personName: Validator = (value) => (value.length <= 32 ? null : t.validation.nameLength);
export const httpUrl: Validator = (value) => {
  if (!value.trim()) return t.validation.required;
  try {
    const url = new URL(value.trim());
    return url.protocol === "http:" || url.protocol === "https:" ? null : t.validation.url;
  } catch {
    return t.validation.url;
  }
};

/** Runs validators on a form's values; returns only the fields with an error. */
export function validate<K extends string>(
  values: Record<K, string>,
  rules: Partial<Record<K, Validator>>,
): Partial<Record<K, string>> {
  const errors: Partial<Record<K, string>> = {};
  for (const key of Object.keys(rules) as K[]) {
    const rule = rules[key];
    const message = rule ? rule(values[key], values) : null;
    if (message) errors[key] = message;
  }
  return errors;
}
