import { useState } from "react";
import { Link } from "react-router";
import { formError } from "../../api/errors";
import { t } from "../../i18n";
import { Alert } from "../ui/Alert";
import { Field } from "../ui/Field";
import { useForm } from "../ui/useForm";
import { useForgotPasswordMutation } from "./authApi";
import { AuthLayout } from "./AuthLayout";
import { email } from "./validation";

const RULES = { email };

export function ForgotPasswordPage() {
  const [forgot, { isLoading, error }] = useForgotPasswordMutation();
  const [sentTo, setSentTo] = useState<string | null>(null);
  const form = useForm({ email: "" }, RULES);

  const onSubmit = form.handleSubmit(async (values) => {
    const address = values.email.trim();
    const result = await forgot({ email: address });
    if ("error" in result) form.setServerErrors(result.error);
    else setSentTo(address);
  });

  return (
    <AuthLayout
      title={t.auth.forgotTitle}
      footer={
        <p>
          <Link to="/login">{t.auth.backToLogin}</Link>
        </p>
      }
    >
      {sentTo ? (
        <Alert tone="success" testId="forgot-sent">
          {t.auth.forgotSent(sentTo)}
        </Alert>
      ) : (
        <>
          <p className="auth__intro">{t.auth.forgotIntro}</p>
          <form ref={form.formRef} onSubmit={onSubmit} noValidate data-testid="forgot-form">
            <Field label={t.auth.email} type="email" autoComplete="email" required testId="forgot-email" {...form.field("email")} />
            {formError(error, ["email"]) && (
              <p className="form-error" role="alert">
                {formError(error, ["email"])}
              </p>
            )}
            <button type="submit" className="btn btn--primary btn--block" disabled={isLoading} data-testid="forgot-submit">
              {isLoading ? t.auth.forgotBusy : t.auth.forgotSubmit}
            </button>
          </form>
        </>
      )}
    </AuthLayout>
  );
}
