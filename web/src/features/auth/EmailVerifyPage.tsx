import { useEffect, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { formError } from "../../api/errors";
import type { User } from "../../api/types";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import type { AppDispatch } from "../../app/store";
import { t } from "../../i18n";
import { Alert } from "../../components/Alert";
import { Spinner } from "../../components/Spinner";
import { authApi } from "./authApi";
import { noticeShown, selectIsAuthenticated } from "./authSlice";
import { AuthLayout } from "./AuthLayout";

type Outcome = { ok: true; user: User } | { ok: false; message: string | null };

// A token is single-use: confirm each one once, even if the page mounts twice (StrictMode, back button).
const confirmations = new Map<string, Promise<Outcome>>();

function confirmOnce(dispatch: AppDispatch, token: string): Promise<Outcome> {
  let promise = confirmations.get(token);
  if (!promise) {
    promise = dispatch(authApi.endpoints.confirmEmail.initiate({ token })).then(
      (result): Outcome => ("data" in result && result.data ? { ok: true, user: result.data } : { ok: false, message: formError(result.error) }),
    );
    confirmations.set(token, promise);
  }
  return promise;
}

/** `/email-verify/:token`: confirms, then says so (signed in) or goes to sign-in with a notice. */
export function EmailVerifyPage() {
  const { token = "" } = useParams();
  const dispatch = useAppDispatch();
  const navigate = useNavigate();
  const signedIn = useAppSelector(selectIsAuthenticated);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  useEffect(() => {
    let live = true;
    void confirmOnce(dispatch, token).then((result) => {
      if (live) setOutcome(result);
    });
    return () => {
      live = false;
    };
  }, [dispatch, token]);

  useEffect(() => {
    if (outcome?.ok && !signedIn) {
      dispatch(noticeShown("email_confirmed"));
      void navigate("/login", { replace: true });
    }
  }, [outcome, signedIn, dispatch, navigate]);

  return (
    <AuthLayout title={t.auth.verifyTitle}>
      {!outcome && <Spinner label={t.auth.verifyBusy} />}
      {outcome?.ok && (
        <>
          <Alert tone="success" testId="verify-ok">
            {t.auth.verifyOk}
          </Alert>
          <Link to="/chats" className="btn btn--primary btn--block">
            {t.auth.continueToChats}
          </Link>
        </>
      )}
      {outcome && !outcome.ok && (
        <>
          <Alert tone="error" testId="verify-failed">
            {t.auth.verifyFailed} {outcome.message && outcome.message !== t.auth.verifyFailed ? outcome.message : ""}
          </Alert>
          <p className="auth__intro">{t.auth.verifyFailedHint}</p>
          <Link to={signedIn ? "/chats" : "/login"} className="btn btn--primary btn--block">
            {signedIn ? t.auth.continueToChats : t.auth.loginLink}
          </Link>
        </>
      )}
    </AuthLayout>
  );
}
