import { formError, isApiError } from "../../api/errors";
import { t } from "../../i18n";
import { newPassword, required } from "../../components/validation";
import { Field } from "../../components/Field";
import { useForm } from "../../components/useForm";
import { useChangePasswordMutation } from "./settingsApi";
import { FormStatus, SubmitButton } from "../../components/FormStatus";

const PASSWORD_RULES = { current_password: required, new_password: newPassword };

export function PasswordSection() {
  const [change, { isLoading, error, isSuccess, reset }] = useChangePasswordMutation();
  const form = useForm({ current_password: "", new_password: "" }, PASSWORD_RULES);
  const onSubmit = form.handleSubmit(async (values) => {
    reset();
    const result = await change(values);
    if ("error" in result) {
      // A wrong current password is a 401 `invalid_credentials`: show it under that field.
      if (!form.setServerErrors(result.error) && isApiError(result.error) && result.error.status === 401) {
        form.setServerErrors({ status: 422, data: { errors: { current_password: [formError(result.error) ?? ""] } } });
      }
      return;
    }
    form.setValues({ current_password: "", new_password: "" });
  });
  const message = isApiError(error) && error.status !== 401 ? formError(error, ["current_password", "new_password"]) : null;
  return (
    <section className="card" aria-labelledby="password-title">
      <h2 className="card__title" id="password-title">
        {t.settings.password}
      </h2>
      <form ref={form.formRef} onSubmit={onSubmit} noValidate data-testid="password-form">
        <input type="text" autoComplete="username" className="visually-hidden" tabIndex={-1} aria-hidden="true" readOnly value="" />
        <Field label={t.settings.currentPassword} type="password" autoComplete="current-password" testId="current-password" {...form.field("current_password")} />
        <Field
          label={t.settings.newPassword}
          type="password"
          autoComplete="new-password"
          hint={t.auth.passwordHint}
          testId="new-password"
          {...form.field("new_password")}
        />
        <FormStatus error={message} ok={isSuccess && t.settings.passwordChanged} okTestId="password-changed" />
        <SubmitButton busy={isLoading} label={t.settings.changePassword} busyLabel={t.common.saving} testId="change-password" />
      </form>
    </section>
  );
}
