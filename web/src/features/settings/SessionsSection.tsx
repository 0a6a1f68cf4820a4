import { useState } from "react";
import { useNavigate } from "react-router";
import { errorMessage } from "../../api/errors";
import type { Session } from "../../api/types";
import { useAppDispatch } from "../../app/hooks";
import { t } from "../../i18n";
import { loggedOut } from "../auth/authSlice";
import { formatDateTime } from "../chat/groupByDay";
import { Alert } from "../../components/Alert";
import { ConfirmDialog } from "../../components/Modal";
import { Spinner } from "../../components/Spinner";
import { useGetSessionsQuery, useLogoutAllMutation, useRevokeSessionMutation } from "./settingsApi";

function describeAgent(agent: string | null): string {
  if (!agent) return t.settings.sessionUnknownDevice;
  const browser = /(Firefox|Edg|Chrome|Safari|OPR)\/[\d.]+/.exec(agent)?.[0]?.replace("Edg", "Edge").replace("OPR", "Opera");
  const os = /(Windows|Android|iPhone|iPad|Mac OS X|Linux)/.exec(agent)?.[0]?.replace("Mac OS X", "macOS");
  return [browser?.split("/")[0], os].filter(Boolean).join(" · ") || agent.slice(0, 60);
}

export function SessionsSection() {
  const navigate = useNavigate();
  const dispatch = useAppDispatch();
  const sessions = useGetSessionsQuery();
  const [revoke, revoking] = useRevokeSessionMutation();
  const [logoutAll, everywhere] = useLogoutAllMutation();
  const [confirmAll, setConfirmAll] = useState(false);

  const onRevoke = async (session: Session) => {
    if (session.current) {
      void navigate("/logout");
      return;
    }
    await revoke(session.id);
  };

  const onLogoutAll = async () => {
    const result = await logoutAll();
    if ("error" in result) return;
    setConfirmAll(false);
    dispatch(loggedOut({ notice: "signed_out_everywhere" }));
    void navigate("/login", { replace: true });
  };

  return (
    <section className="card" aria-labelledby="sessions-title">
      <h2 className="card__title" id="sessions-title">
        {t.settings.sessions}
      </h2>
      <p className="card__intro">{t.settings.sessionsIntro}</p>
      {sessions.isLoading && <Spinner />}
      {sessions.isError && <Alert tone="error">{errorMessage(sessions.error)}</Alert>}
      <ul className="rows" data-testid="session-list">
        {sessions.data?.map((session) => (
          <li key={session.id} className="row" data-testid="session-item">
            <div className="row__main">
              <p className="row__title">
                {describeAgent(session.user_agent)}{" "}
                {session.current && <span className="badge badge--ok">{t.settings.sessionCurrent}</span>}
              </p>
              <p className="row__meta">
                {t.settings.sessionCreated(formatDateTime(session.created_at))}
                {session.last_used_at ? `, ${t.settings.sessionLastUsed(formatDateTime(session.last_used_at))}` : ""}
                {session.ip ? ` · ${t.settings.sessionIp(session.ip)}` : ""}
              </p>
            </div>
            <button
              type="button"
              className="btn btn--secondary btn--small"
              onClick={() => void onRevoke(session)}
              disabled={revoking.isLoading}
              data-testid="revoke-session"
            >
              {t.settings.signOutSession}
            </button>
          </li>
        ))}
      </ul>
      {revoking.isError && <Alert tone="error">{errorMessage(revoking.error)}</Alert>}
      <button type="button" className="btn btn--danger-outline" onClick={() => setConfirmAll(true)} data-testid="logout-all">
        {t.settings.signOutEverywhere}
      </button>
      <ConfirmDialog
        open={confirmAll}
        title={t.settings.signOutEverywhereTitle}
        body={t.settings.signOutEverywhereBody}
        confirmLabel={t.settings.signOutEverywhere}
        busy={everywhere.isLoading}
        error={everywhere.isError ? errorMessage(everywhere.error) : null}
        onConfirm={() => void onLogoutAll()}
        onCancel={() => setConfirmAll(false)}
        testId="logout-all-dialog"
      />
    </section>
  );
}
