import { useState } from "react";
import { useNavigate } from "react-router";
import { errorMessage } from "../../api/errors";
import { useAppDispatch } from "../../app/hooks";
import { t } from "../../i18n";
import { loggedOut } from "../auth/authSlice";
import { Field } from "../../components/Field";
import { ConfirmDialog } from "../../components/Modal";
import { useDeleteAccountMutation } from "./settingsApi";

export function DeleteAccountSection() {
  const dispatch = useAppDispatch();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [remove, { isLoading, error, reset }] = useDeleteAccountMutation();

  const onConfirm = async () => {
    const result = await remove({ password });
    if ("error" in result) return;
    setOpen(false);
    dispatch(loggedOut({ notice: "account_deleted" }));
    void navigate("/login", { replace: true });
  };

  return (
    <section className="card card--danger" aria-labelledby="danger-title">
      <h2 className="card__title" id="danger-title">
        {t.settings.danger}
      </h2>
      <p className="card__intro">{t.settings.dangerIntro}</p>
      <button type="button" className="btn btn--danger" onClick={() => setOpen(true)} data-testid="delete-account">
        {t.settings.deleteAccount}
      </button>
      <ConfirmDialog
        open={open}
        title={t.settings.deleteAccountTitle}
        body={t.settings.deleteAccountBody}
        confirmLabel={t.settings.deleteAccount}
        busyLabel={t.common.deleting}
        busy={isLoading}
        confirmDisabled={!password}
        error={error ? errorMessage(error) : null}
        onConfirm={() => void onConfirm()}
        onCancel={() => {
          reset();
          setPassword("");
          setOpen(false);
        }}
        testId="delete-account-dialog"
      >
        <Field
          label={t.auth.password}
          type="password"
          autoComplete="current-password"
          value={password}
          onValueChange={setPassword}
          testId="delete-account-password"
        />
      </ConfirmDialog>
    </section>
  );
}
