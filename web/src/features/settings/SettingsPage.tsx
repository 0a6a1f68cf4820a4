import { useId, useState } from "react";
import { useNavigate } from "react-router";
import { errorMessage, fieldErrors, formError, isApiError } from "../../api/errors";
import type { SecretRotated, Session, Webhook, WebhookDelivery, WebhookEvent } from "../../api/types";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import type { ThemePreference } from "../../app/preferences";
import { t } from "../../i18n";
import { loggedOut } from "../auth/authSlice";
import { httpUrl, newPassword, required } from "../auth/validation";
import { formatDateTime } from "../chat/groupByDay";
import { Alert } from "../ui/Alert";
import { CopyButton } from "../ui/CopyButton";
import { Field } from "../ui/Field";
import { ConfirmDialog } from "../ui/Modal";
import { PageHeader } from "../ui/PageHeader";
import { Spinner } from "../ui/Spinner";
import { useDocumentTitle } from "../ui/useDocumentTitle";
import { useForm } from "../ui/useForm";
import {
  useChangePasswordMutation,
  useCreateWebhookMutation,
  useDeleteAccountMutation,
  useDeleteWebhookMutation,
  useGetDeliveriesQuery,
  useGetSessionsQuery,
  useGetWebhooksQuery,
  useLogoutAllMutation,
  useRevokeSessionMutation,
  useTestWebhookMutation,
  useUpdateWebhookMutation,
  useRotateWebhookSecretMutation,
  useRetryDeliveryMutation,
} from "./settingsApi";
import { selectTheme, themeChosen } from "./uiSlice";

export default function SettingsPage() {
  useDocumentTitle(t.settings.title);
  return (
    <section className="page" aria-labelledby="settings-title">
      <PageHeader title={<span id="settings-title">{t.settings.title}</span>} />
      <div className="page__body">
        <ThemeSection />
        <PasswordSection />
        <SessionsSection />
        <WebhooksSection />
        <DeleteAccountSection />
      </div>
    </section>
  );
}

const THEMES: { value: ThemePreference; label: string }[] = [
  { value: "system", label: t.settings.themeSystem },
  { value: "light", label: t.settings.themeLight },
  { value: "dark", label: t.settings.themeDark },
];

function ThemeSection() {
  const dispatch = useAppDispatch();
  const theme = useAppSelector(selectTheme);
  return (
    <section className="card" aria-labelledby="appearance-title">
      <h2 className="card__title" id="appearance-title">
        {t.settings.appearance}
      </h2>
      <fieldset className="segmented" data-testid="theme-picker">
        <legend className="field__label">{t.settings.theme}</legend>
        {THEMES.map((option) => (
          <label key={option.value} className="segmented__option">
            <input
              type="radio"
              name="theme"
              value={option.value}
              checked={theme === option.value}
              onChange={() => dispatch(themeChosen(option.value))}
              data-testid={`theme-${option.value}`}
            />
            <span>{option.label}</span>
          </label>
        ))}
      </fieldset>
    </section>
  );
}

const PASSWORD_RULES = { current_password: required, new_password: newPassword };

function PasswordSection() {
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
        {message && (
          <p className="form-error" role="alert">
            {message}
          </p>
        )}
        {isSuccess && (
          <p className="form-ok" role="status" data-testid="password-changed">
            {t.settings.passwordChanged}
          </p>
        )}
        <button type="submit" className="btn btn--primary" disabled={isLoading} data-testid="change-password">
          {isLoading ? t.common.saving : t.settings.changePassword}
        </button>
      </form>
    </section>
  );
}

function describeAgent(agent: string | null): string {
  if (!agent) return t.settings.sessionUnknownDevice;
  const browser = /(Firefox|Edg|Chrome|Safari|OPR)\/[\d.]+/.exec(agent)?.[0]?.replace("Edg", "Edge").replace("OPR", "Opera");
  const os = /(Windows|Android|iPhone|iPad|Mac OS X|Linux)/.exec(agent)?.[0]?.replace("Mac OS X", "macOS");
  return [browser?.split("/")[0], os].filter(Boolean).join(" · ") || agent.slice(0, 60);
}

function SessionsSection() {
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

const EVENTS: { value: WebhookEvent; label: string }[] = [
  { value: "message.completed", label: t.settings.eventCompleted },
  { value: "message.failed", label: t.settings.eventFailed },
];

function WebhooksSection() {
  const webhooks = useGetWebhooksQuery();
  const [create, creating] = useCreateWebhookMutation();
  const [events, setEvents] = useState<WebhookEvent[]>(["message.completed", "message.failed"]);
  const [eventsError, setEventsError] = useState<string | null>(null);
  // a secret shown once: a new endpoint's, or a rotated one (with the old one's end)
  const [secret, setSecret] = useState<{ secret?: string; previousUntil?: string } | null>(null);
  const [toDelete, setToDelete] = useState<Webhook | null>(null);
  const [remove, removing] = useDeleteWebhookMutation();
  const form = useForm({ url: "" }, { url: httpUrl });

  const onSubmit = form.handleSubmit(async (values) => {
    if (events.length === 0) {
      setEventsError(t.validation.eventsRequired);
      return;
    }
    setEventsError(null);
    const result = await create({ url: values.url.trim(), events });
    if ("error" in result) {
      const server = form.setServerErrors(result.error);
      const eventsProblem = fieldErrors(result.error).events;
      if (!server && eventsProblem) setEventsError(eventsProblem);
      return;
    }
    form.setValues({ url: "" });
    setSecret({ secret: result.data.secret });
  });

  const toggle = (event: WebhookEvent, on: boolean) =>
    setEvents((current) => (on ? [...new Set([...current, event])] : current.filter((e) => e !== event)));

  return (
    <section className="card" id="webhooks" aria-labelledby="webhooks-title">
      <h2 className="card__title" id="webhooks-title">
        {t.settings.webhooks}
      </h2>
      <p className="card__intro">{t.settings.webhooksIntro}</p>

      {secret?.secret && (
        <div className="secret" role="status" data-testid="webhook-secret-box">
          <p>
            {secret.previousUntil ? (
              <>
                <strong>{t.settings.rotatedSecretTitle}</strong> — {t.settings.rotatedSecretOnce(formatDateTime(secret.previousUntil))}
              </>
            ) : (
              <>
                <strong>{t.settings.secretTitle}</strong> — {t.settings.secretOnce}
              </>
            )}
          </p>
          <code className="secret__value" data-testid="webhook-secret">
            {secret.secret}
          </code>
          <div className="button-row">
            <CopyButton text={secret.secret} label={t.settings.copySecret} className="btn btn--secondary btn--small" />
            <button type="button" className="btn btn--ghost btn--small" onClick={() => setSecret(null)}>
              {t.settings.dismissSecret}
            </button>
          </div>
        </div>
      )}

      {webhooks.isLoading && <Spinner />}
      {webhooks.isError && <Alert tone="error">{errorMessage(webhooks.error)}</Alert>}
      {webhooks.data?.length === 0 && <p className="card__muted">{t.settings.noWebhooks}</p>}
      <ul className="rows" data-testid="webhook-list">
        {webhooks.data?.map((hook) => (
          <WebhookRow
            key={hook.id}
            hook={hook}
            onDelete={() => setToDelete(hook)}
            onRotated={(rotated) => setSecret({ secret: rotated.secret, previousUntil: rotated.previous_secret_expires_at })}
          />
        ))}
      </ul>

      <form ref={form.formRef} onSubmit={onSubmit} noValidate className="webhook-form" data-testid="webhook-form">
        <Field label={t.settings.webhookUrl} type="url" inputMode="url" placeholder="https://example.com/hooks/parley" testId="webhook-url" {...form.field("url")} />
        <fieldset className="checks">
          <legend className="field__label">{t.settings.webhookEvents}</legend>
          {EVENTS.map((event) => (
            <label key={event.value} className="check">
              <input
                type="checkbox"
                checked={events.includes(event.value)}
                onChange={(e) => toggle(event.value, e.target.checked)}
                data-testid={`webhook-event-${event.value}`}
              />
              <span>{event.label}</span>
            </label>
          ))}
          {eventsError && (
            <p className="field__error" role="alert">
              {eventsError}
            </p>
          )}
        </fieldset>
        {creating.isError && formError(creating.error, ["url", "events"]) && (
          <p className="form-error" role="alert">
            {formError(creating.error, ["url", "events"])}
          </p>
        )}
        <button type="submit" className="btn btn--primary" disabled={creating.isLoading} data-testid="webhook-add">
          {creating.isLoading ? t.settings.adding : t.settings.addWebhook}
        </button>
      </form>

      <ConfirmDialog
        open={toDelete !== null}
        title={t.settings.deleteWebhookTitle}
        body={toDelete ? t.settings.deleteWebhookBody(toDelete.url) : ""}
        confirmLabel={t.common.delete}
        busyLabel={t.common.deleting}
        busy={removing.isLoading}
        error={removing.isError ? errorMessage(removing.error) : null}
        onConfirm={() => {
          if (!toDelete) return;
          void remove(toDelete.id).then((result) => {
            if (!("error" in result)) setToDelete(null);
          });
        }}
        onCancel={() => {
          removing.reset();
          setToDelete(null);
        }}
        testId="delete-webhook"
      />
    </section>
  );
}

function WebhookRow({ hook, onDelete, onRotated }: { hook: Webhook; onDelete: () => void; onRotated: (rotated: SecretRotated) => void }) {
  const [open, setOpen] = useState(false);
  const [test, testing] = useTestWebhookMutation();
  const [update, updating] = useUpdateWebhookMutation();
  const [rotate, rotating] = useRotateWebhookSecretMutation();
  const failing = !hook.disabled && (hook.failed_deliveries ?? 0) > 0;
  const deliveriesId = useId();
  return (
    <li className="row row--stacked" data-testid="webhook-item">
      <div className="row__line">
        <div className="row__main">
          <p className="row__title row__title--mono">
            {hook.url}{" "}
            {hook.disabled && (
              <span className="badge badge--error" title={hook.disabled_reason ?? undefined} data-testid="webhook-disabled">
                {t.settings.webhookDisabled}
              </span>
            )}
            {failing && (
              <span className="badge badge--warn" data-testid="webhook-failing">
                {t.settings.webhookFailing}
              </span>
            )}
          </p>
          <p className="row__meta">
            {hook.events.join(", ")} · {formatDateTime(hook.created_at)}
          </p>
        </div>
        <div className="button-row">
          {hook.disabled && (
            <button
              type="button"
              className="btn btn--primary btn--small"
              onClick={() => void update({ id: hook.id, disabled: false })}
              disabled={updating.isLoading}
              data-testid="webhook-enable"
            >
              {t.settings.enableWebhook}
            </button>
          )}
          <button
            type="button"
            className="btn btn--ghost btn--small"
            onClick={() =>
              void rotate(hook.id).then((result) => {
                if ("data" in result && result.data) onRotated(result.data);
              })
            }
            disabled={rotating.isLoading}
            data-testid="webhook-rotate"
          >
            {t.settings.rotateSecret}
          </button>
          <button
            type="button"
            className="btn btn--secondary btn--small"
            onClick={() => void test(hook.id)}
            disabled={testing.isLoading}
            data-testid="webhook-test"
          >
            {t.settings.sendTest}
          </button>
          <button
            type="button"
            className="btn btn--ghost btn--small"
            aria-expanded={open}
            aria-controls={deliveriesId}
            onClick={() => setOpen((o) => !o)}
            data-testid="webhook-deliveries-toggle"
          >
            {open ? t.settings.hideDeliveries : t.settings.showDeliveries}
          </button>
          <button type="button" className="btn btn--danger-outline btn--small" onClick={onDelete} data-testid="webhook-delete">
            {t.settings.deleteWebhook}
          </button>
        </div>
      </div>
      {hook.disabled && hook.disabled_reason && (
        <p className="form-error" role="status" data-testid="webhook-disabled-reason">
          {t.settings.disabledBecause(hook.disabled_reason)}
        </p>
      )}
      {failing && (
        <p className="row__meta" data-testid="webhook-failing-help">
          {t.settings.webhookFailingHelp(hook.failed_deliveries ?? 0)}
        </p>
      )}
      {[updating.error, rotating.error].map(
        (error, i) =>
          error && (
            <p key={i} className="form-error" role="alert">
              {errorMessage(error)}
            </p>
          ),
      )}
      {testing.isSuccess && (
        <p className="form-ok" role="status">
          {t.settings.testSent}
        </p>
      )}
      {testing.isError && (
        <p className="form-error" role="alert">
          {errorMessage(testing.error)}
        </p>
      )}
      <div id={deliveriesId}>{open && <Deliveries webhookId={hook.id} canRetry={!hook.disabled} />}</div>
    </li>
  );
}

function lastAttempt(d: WebhookDelivery) {
  const log = d.attempt_log ?? [];
  return log[log.length - 1];
}

function deliveryState(d: WebhookDelivery): { label: string; tone: "ok" | "warn" | "error" } {
  const code = lastAttempt(d)?.status_code ?? d.response_status ?? d.status_code ?? null;
  const ok = d.success ?? (d.status === "succeeded" || d.status === "delivered" || (d.status === undefined && code !== null && code >= 200 && code < 300));
  if (ok) return { label: t.settings.deliveryOk, tone: "ok" };
  if (d.status === "pending") return { label: t.settings.deliveryPending, tone: "warn" };
  return { label: t.settings.deliveryFailed, tone: "error" };
}

function Deliveries({ webhookId, canRetry }: { webhookId: string; canRetry: boolean }) {
  const { data, isLoading, isError, error } = useGetDeliveriesQuery(webhookId, { pollingInterval: 5000, skipPollingIfUnfocused: true });
  const [retry, retrying] = useRetryDeliveryMutation();
  if (isLoading) return <Spinner inline />;
  if (isError) return <Alert tone="error">{errorMessage(error)}</Alert>;
  if (!data?.length) return <p className="card__muted">{t.settings.noDeliveries}</p>;
  return (
    <ul className="deliveries" data-testid="webhook-deliveries">
      {data.map((d) => {
        const state = deliveryState(d);
        const last = lastAttempt(d);
        const code = last?.status_code ?? d.response_status ?? d.status_code;
        const error = last?.error ?? d.error;
        const attempts = d.attempts ?? d.attempt;
        return (
          <li key={d.id} className="delivery" data-testid="webhook-delivery">
            <span className={`badge badge--${state.tone}`}>{state.label}</span> <span>{d.event_type ?? ""}</span>{" "}
            {attempts !== undefined && <span>{t.settings.deliveryAttempts(attempts)}</span>}{" "}
            {code !== undefined && code !== null && <code>HTTP {code}</code>} {error && <span className="delivery__error">{error}</span>}{" "}
            <time className="delivery__time">{formatDateTime(last?.attempted_at ?? d.attempted_at ?? d.created_at)}</time>
            {d.status === "pending" && d.next_attempt_at && (
              <span className="delivery__time"> · {t.settings.deliveryNext(formatDateTime(d.next_attempt_at))}</span>
            )}
            {canRetry && d.status === "failed" && (
              <>
                {" "}
                <button
                  type="button"
                  className="btn btn--ghost btn--small"
                  disabled={retrying.isLoading}
                  onClick={() => void retry({ webhookId, deliveryId: d.id })}
                  data-testid="webhook-delivery-retry"
                >
                  {t.settings.retryDelivery}
                </button>
              </>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function DeleteAccountSection() {
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
