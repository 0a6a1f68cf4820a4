import { Link, useNavigate, useParams } from "react-router";
import { formError, problemCode } from "../../api/errors";
import { useAppDispatch } from "../../app/hooks";
import { t } from "../../i18n";
import { Field } from "../../components/Field";
import { useForm } from "../../components/useForm";
import { useResetPasswordMutation } from "./authApi";
import { loggedOut } from "./authSlice";
import { AuthLayout } from "./AuthLayout";
import { newPassword, sameAs } from "../../components/validation";
import { FormStatus, SubmitButton } from "../../components/FormStatus";

const RULES = { password: newPassword, confirm: sameAs("password") };

export function ResetPasswordPage() {
  const { token = "" } = useParams();
  const navigate = useNavigate();
  const dispatch = useAppDispatch();
  const [reset, { isLoading, error }] = useResetPasswordMutation();
  const form = useForm({ password: "", confirm: "" }, RULES);

  const onSubmit = form.handleSubmit(async (values) => {
    const result = await reset({ token, password: values.password });
    if ("error" in result) {
      form.setServerErrors(result.error);
      return;
    }
    // Every session of the account was revoked, this browser's included.
    dispatch(loggedOut({ notice: "password_reset" }));
    void navigate("/login", { replace: true });
  });

  const message = formError(error, ["password"]);
  const badToken = problemCode(error) === "invalid_token" || problemCode(error) === "token_expired";
  return (
    <AuthLayout
      title={t.auth.resetTitle}
      footer={
        <p>
          <Link to="/login">{t.auth.backToLogin}</Link>
        </p>
      }
    >
      <form ref={form.formRef} onSubmit={onSubmit} noValidate data-testid="reset-form">
        <Field
          label={t.auth.newPassword}
          type="password"
          autoComplete="new-password"
          required
          hint={t.auth.passwordHint}
          testId="reset-password"
          {...form.field("password")}
        />
        <Field
          label={t.auth.confirmPassword}
          type="password"
          autoComplete="new-password"
          required
          testId="reset-confirm"
          {...form.field("confirm")}
        />
        <FormStatus
          error={
            message && (
              <>
                {message} {badToken && <Link to="/forget-password">{t.auth.forgotLink}</Link>}
              </>
            )
          }
          errorTestId="reset-error"
        />
        <SubmitButton busy={isLoading} label={t.auth.resetSubmit} busyLabel={t.auth.resetBusy} testId="reset-submit" block />
      </form>
    </AuthLayout>
  );
}

