import { useId, useState } from "react";
import { errorMessage, fieldErrors, formError } from "../../api/errors";
import type { SecretRotated, Webhook, WebhookDelivery, WebhookEvent } from "../../api/types";
import { t } from "../../i18n";
import { httpUrl } from "../../components/validation";
import { formatDateTime } from "../chat/groupByDay";
import { Alert } from "../../components/Alert";
import { CopyButton } from "../../components/CopyButton";
import { Field } from "../../components/Field";
import { FormStatus, SubmitButton } from "../../components/FormStatus";
import { ConfirmDialog } from "../../components/Modal";
import { Spinner } from "../../components/Spinner";
import { useForm } from "../../components/useForm";
import { useCreateWebhookMutation, useDeleteWebhookMutation, useGetDeliveriesQuery, useGetWebhooksQuery, useTestWebhookMutation, useUpdateWebhookMutation, useRotateWebhookSecretMutation, useRetryDeliveryMutation } from "./webhooksApi";

const EVENTS: { value: WebhookEvent; label: string }[] = [
  { value: "message.completed", label: t.settings.eventCompleted },
  { value: "message.failed", label: t.settings.eventFailed },
];

export function WebhooksSection() {
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
        <FormStatus error={creating.isError && formError(creating.error, ["url", "events"])} />
        <SubmitButton busy={creating.isLoading} label={t.settings.addWebhook} busyLabel={t.settings.adding} testId="webhook-add" />
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
      <FormStatus error={testing.isError && errorMessage(testing.error)} ok={testing.isSuccess && t.settings.testSent} />
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
