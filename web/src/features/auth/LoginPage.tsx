import { Link } from "react-router";
import { formError } from "../../api/errors";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { t } from "../../i18n";
import { Alert } from "../../components/Alert";
import { Field } from "../../components/Field";
import { useForm } from "../../components/useForm";
import { useLoginMutation } from "./authApi";
import { noticeShown, selectNotice } from "./authSlice";
import { AuthLayout } from "./AuthLayout";
import { email, required } from "../../components/validation";
import { FormStatus, SubmitButton } from "../../components/FormStatus";

const RULES = { email, password: required };

export function LoginPage() {
  const dispatch = useAppDispatch();
  const notice = useAppSelector(selectNotice);
  const [login, { isLoading, error }] = useLoginMutation();
  const form = useForm({ email: "", password: "" }, RULES);

  const onSubmit = form.handleSubmit(async (values) => {
    if (notice) dispatch(noticeShown(null));
    const result = await login({ email: values.email.trim(), password: values.password });
    if ("error" in result) form.setServerErrors(result.error);
    // On success the credentials are stored and GuestOnly sends the user on.
  });

  const message = formError(error, ["email", "password"]);
  return (
    <AuthLayout
      title={t.auth.loginTitle}
      footer={
        <p>
          {t.auth.noAccount} <Link to="/register">{t.auth.registerLink}</Link>
        </p>
      }
    >
      {notice && (
        <Alert tone={notice === "session_expired" ? "warning" : "success"} testId="login-notice">
          {t.auth.notices[notice]}
        </Alert>
      )}
      <form ref={form.formRef} onSubmit={onSubmit} noValidate data-testid="login-form">
        <Field label={t.auth.email} type="email" autoComplete="email" required testId="login-email" {...form.field("email")} />
        <Field
          label={t.auth.password}
          type="password"
          autoComplete="current-password"
          required
          testId="login-password"
          {...form.field("password")}
        />
        <FormStatus error={message} errorTestId="login-error" />
        <SubmitButton busy={isLoading} label={t.auth.loginSubmit} busyLabel={t.auth.loginBusy} testId="login-submit" block />
      </form>
      <p className="auth__aside">
        <Link to="/forget-password" data-testid="forgot-link">
          {t.auth.forgotLink}
        </Link>
      </p>
    </AuthLayout>
  );
}
