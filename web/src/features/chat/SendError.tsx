import { Link } from "react-router";
import { t } from "../../i18n";
import type { SendFailure } from "./useSend";

export function SendError({ failure, onRetry, onDismiss }: { failure: SendFailure; onRetry: () => void; onDismiss: () => void }) {
  return (
    <div className="send-error" role="alert" data-testid="send-error">
      <p>
        <strong>{t.chat.sendFailed}</strong> {failure.quotaReached ? t.confirmBanner.quotaReached : failure.message}
      </p>
      <div className="send-error__actions">
        {failure.budgetExceeded && (
          <Link to="/usage" className="btn btn--secondary btn--small" data-testid="send-see-usage">
            {t.chat.seeUsage}
          </Link>
        )}
        {failure.retryable && (
          <button type="button" className="btn btn--secondary btn--small" onClick={onRetry} data-testid="send-retry">
            {t.chat.retry}
          </button>
        )}
        <button type="button" className="btn btn--ghost btn--small" onClick={onDismiss}>
          {t.common.close}
        </button>
      </div>
    </div>
  );
}
