import { Link } from "react-router";
import { formError } from "../../api/errors";
import { t } from "../../i18n";
import { Field } from "../../components/Field";
import { useForm } from "../../components/useForm";
import { useRegisterMutation } from "./authApi";
import { AuthLayout } from "./AuthLayout";
import { email, newPassword, username } from "../../components/validation";
import { FormStatus, SubmitButton } from "../../components/FormStatus";

const RULES = { email, username, password: newPassword };
const FIELDS = ["email", "username", "password"];

export function RegisterPage() {
  const [register, { isLoading, error }] = useRegisterMutation();
  const form = useForm({ email: "", username: "", password: "" }, RULES);

  const onSubmit = form.handleSubmit(async (values) => {
    const result = await register({ email: values.email.trim(), username: values.username.trim(), password: values.password });
    if ("error" in result) form.setServerErrors(result.error);
    // On success: signed in, and GuestOnly moves on to /chats, where the confirmation banner waits.
  });

  const message = formError(error, FIELDS);
  return (
    <AuthLayout
      title={t.auth.registerTitle}
      footer={
        <p>
          {t.auth.haveAccount} <Link to="/login">{t.auth.loginLink}</Link>
        </p>
      }
    >
      <form ref={form.formRef} onSubmit={onSubmit} noValidate data-testid="register-form">
        <Field label={t.auth.email} type="email" autoComplete="email" required testId="register-email" {...form.field("email")} />
        <Field
          label={t.auth.username}
          autoComplete="username"
          required
          maxLength={25}
          hint={t.auth.usernameHint}
          testId="register-username"
          {...form.field("username")}
        />
        <Field
          label={t.auth.password}
          type="password"
          autoComplete="new-password"
          required
          hint={t.auth.passwordHint}
          testId="register-password"
          {...form.field("password")}
        />
        <FormStatus error={message} errorTestId="register-error" />
        <SubmitButton busy={isLoading} label={t.auth.registerSubmit} busyLabel={t.auth.registerBusy} testId="register-submit" block />
      </form>
    </AuthLayout>
  );
}
