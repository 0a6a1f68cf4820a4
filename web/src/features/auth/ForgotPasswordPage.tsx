import { useState } from "react";
import { Link } from "react-router";
import { formError } from "../../api/errors";
import { t } from "../../i18n";
import { Alert } from "../../components/Alert";
import { Field } from "../../components/Field";
import { useForm } from "../../components/useForm";
import { useForgotPasswordMutation } from "./authApi";
import { AuthLayout } from "./AuthLayout";
import { email } from "../../components/validation";
import { FormStatus, SubmitButton } from "../../components/FormStatus";

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
            <FormStatus error={formError(error, ["email"])} />
            <SubmitButton busy={isLoading} label={t.auth.forgotSubmit} busyLabel={t.auth.forgotBusy} testId="forgot-submit" block />
          </form>
        </>
      )}
    </AuthLayout>
  );
}
