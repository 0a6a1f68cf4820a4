import { formError } from "../../api/errors";
import { useAppSelector } from "../../app/hooks";
import { UNCONFIRMED_MESSAGE_QUOTA } from "../../app/config";
import { t } from "../../i18n";
import { useFreshUser } from "./accountChanges";
import { useResendConfirmationMutation } from "./authApi";
import { selectUser } from "./authSlice";

/**
 * Shown in /chats until the email is confirmed: what was sent where, what the limit is, and a
 * button to send the link again.
 */
export function ConfirmEmailBanner({ quotaReached = false }: { quotaReached?: boolean }) {
  const user = useAppSelector(selectUser);
  const [resend, { isLoading, isSuccess, error, reset }] = useResendConfirmationMutation();
  // confirmed from the mail's link in another tab or device: the banner goes at once
  useFreshUser(Boolean(user && !user.is_email_confirmed));
  if (!user) return null;
  if (user.is_email_confirmed) return null;
  const message = formError(error);
  return (
    <div className={`banner${quotaReached ? " banner--warning" : ""}`} role="region" aria-label={t.auth.email} data-testid="confirm-email-banner">
      <div className="banner__text">
        <p>{t.confirmBanner.text(user.email)}</p>
        <p className="banner__detail">
          {quotaReached ? t.confirmBanner.quotaReached : t.confirmBanner.limit(UNCONFIRMED_MESSAGE_QUOTA)}
        </p>
        {isSuccess && (
          <p className="banner__ok" role="status" data-testid="resend-ok">
            {t.confirmBanner.resent}
          </p>
        )}
        {message && (
          <p className="banner__error" role="alert">
            {message}
          </p>
        )}
      </div>
      <button
        type="button"
        className="btn btn--secondary btn--small"
        disabled={isLoading}
        onClick={() => {
          reset();
          void resend();
        }}
        data-testid="resend-confirmation"
      >
        {isLoading ? t.confirmBanner.resending : t.confirmBanner.resend}
      </button>
    </div>
  );
}
