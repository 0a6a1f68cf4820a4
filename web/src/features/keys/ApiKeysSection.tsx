import { useId, useState } from "react";
import { errorMessage, fieldErrors, formError } from "../../api/errors";
import type { ApiKey, KeyScope } from "../../api/types";
import { t } from "../../i18n";
import { formatDateTime } from "../chat/groupByDay";
import { Alert } from "../../components/Alert";
import { CopyButton } from "../../components/CopyButton";
import { Field } from "../../components/Field";
import { FormStatus, SubmitButton } from "../../components/FormStatus";
import { ConfirmDialog } from "../../components/Modal";
import { Spinner } from "../../components/Spinner";
import { useForm } from "../../components/useForm";
import { required } from "../../components/validation";
import { useCreateKeyMutation, useGetKeysQuery, useRevokeKeyMutation } from "./keysApi";

const SCOPES: { value: KeyScope; label: string }[] = [
  { value: "chat", label: t.keys.scopeChat },
  { value: "read", label: t.keys.scopeRead },
  { value: "webhooks", label: t.keys.scopeWebhooks },
];
// how long a new key works; "" = until revoked
const LIFETIMES = [
  { days: "", label: t.keys.neverExpires },
  { days: "30", label: t.keys.days(30) },
  { days: "90", label: t.keys.days(90) },
  { days: "365", label: t.keys.days(365) },
];

/** Settings › API keys: create one (shown once, to copy), list them, revoke one. */
export function ApiKeysSection() {
  const keys = useGetKeysQuery();
  const [create, creating] = useCreateKeyMutation();
  const [revoke, revoking] = useRevokeKeyMutation();
  const [scopes, setScopes] = useState<KeyScope[]>(["chat", "read", "webhooks"]);
  const [scopesError, setScopesError] = useState<string | null>(null);
  const [lifetime, setLifetime] = useState("");
  const [shown, setShown] = useState<string | null>(null);
  const [toRevoke, setToRevoke] = useState<ApiKey | null>(null);
  const form = useForm({ name: "" }, { name: required });
  const lifetimeId = useId();

  const onSubmit = form.handleSubmit(async (values) => {
    if (scopes.length === 0) {
      setScopesError(t.keys.scopesRequired);
      return;
    }
    setScopesError(null);
    const expires_at = lifetime ? new Date(Date.now() + Number(lifetime) * 86_400_000).toISOString() : null;
    const result = await create({ name: values.name.trim(), scopes, expires_at });
    if ("error" in result) {
      const server = form.setServerErrors(result.error);
      const scopeProblem = fieldErrors(result.error).scopes;
      if (!server && scopeProblem) setScopesError(scopeProblem);
      return;
    }
    form.setValues({ name: "" });
    setShown(result.data.key);
  });

  const toggle = (scope: KeyScope, on: boolean) =>
    setScopes((current) => (on ? [...new Set([...current, scope])] : current.filter((s) => s !== scope)));

  return (
    <section className="card" id="api-keys" aria-labelledby="api-keys-title">
      <h2 className="card__title" id="api-keys-title">
        {t.keys.title}
      </h2>
      <p className="card__intro">{t.keys.intro}</p>

      {shown && (
        <div className="secret" role="status" data-testid="api-key-box">
          <p>
            <strong>{t.keys.newKey}</strong> — {t.keys.shownOnce}
          </p>
          <code className="secret__value" data-testid="api-key-value">
            {shown}
          </code>
          <div className="button-row">
            <CopyButton text={shown} label={t.keys.copy} className="btn btn--secondary btn--small" />
            <button type="button" className="btn btn--ghost btn--small" onClick={() => setShown(null)}>
              {t.settings.dismissSecret}
            </button>
          </div>
        </div>
      )}

      {keys.isLoading && <Spinner />}
      {keys.isError && <Alert tone="error">{errorMessage(keys.error)}</Alert>}
      {keys.data?.length === 0 && <p className="card__muted">{t.keys.none}</p>}
      <ul className="rows" data-testid="api-key-list">
        {keys.data?.map((key) => (
          <KeyRow key={key.id} apiKey={key} onRevoke={() => setToRevoke(key)} />
        ))}
      </ul>

      <form ref={form.formRef} onSubmit={onSubmit} noValidate className="webhook-form" data-testid="api-key-form">
        <Field label={t.keys.name} placeholder={t.keys.namePlaceholder} maxLength={64} testId="api-key-name" {...form.field("name")} />
        <fieldset className="checks">
          <legend className="field__label">{t.keys.scopes}</legend>
          {SCOPES.map((scope) => (
            <label key={scope.value} className="check">
              <input
                type="checkbox"
                checked={scopes.includes(scope.value)}
                onChange={(e) => toggle(scope.value, e.target.checked)}
                data-testid={`api-key-scope-${scope.value}`}
              />
              <span>{scope.label}</span>
            </label>
          ))}
          {scopesError && (
            <p className="field__error" role="alert">
              {scopesError}
            </p>
          )}
        </fieldset>
        <div className="field">
          <label className="field__label" htmlFor={lifetimeId}>
            {t.keys.expires}
          </label>
          <select id={lifetimeId} className="select" value={lifetime} onChange={(e) => setLifetime(e.target.value)} data-testid="api-key-lifetime">
            {LIFETIMES.map((option) => (
              <option key={option.days} value={option.days}>
                {option.label}
              </option>
            ))}
          </select>
        </div>
        <FormStatus error={creating.isError && formError(creating.error, ["name", "scopes"])} />
        <SubmitButton busy={creating.isLoading} label={t.keys.create} busyLabel={t.settings.adding} testId="api-key-create" />
      </form>

      <ConfirmDialog
        open={toRevoke !== null}
        title={t.keys.revokeTitle}
        body={toRevoke ? t.keys.revokeBody(toRevoke.name) : ""}
        confirmLabel={t.keys.revoke}
        busyLabel={t.common.deleting}
        busy={revoking.isLoading}
        error={revoking.isError ? errorMessage(revoking.error) : null}
        onConfirm={() => {
          if (!toRevoke) return;
          void revoke(toRevoke.id).then((result) => {
            if (!("error" in result)) setToRevoke(null);
          });
        }}
        onCancel={() => {
          revoking.reset();
          setToRevoke(null);
        }}
        testId="revoke-api-key"
      />
    </section>
  );
}

function KeyRow({ apiKey, onRevoke }: { apiKey: ApiKey; onRevoke: () => void }) {
  const expired = apiKey.expires_at !== null && new Date(apiKey.expires_at).getTime() <= Date.now();
  return (
    <li className="row" data-testid="api-key-item">
      <div className="row__main">
        <p className="row__title">
          {apiKey.name} <code className="row__code">{apiKey.prefix}…</code>{" "}
          {expired && <span className="badge badge--error">{t.keys.expired}</span>}
        </p>
        <p className="row__meta">
          {apiKey.scopes.join(", ")} · {t.keys.created(formatDateTime(apiKey.created_at))} ·{" "}
          {apiKey.last_used_at ? t.keys.lastUsed(formatDateTime(apiKey.last_used_at)) : t.keys.neverUsed}
          {apiKey.expires_at && !expired && <> · {t.keys.expiresOn(formatDateTime(apiKey.expires_at))}</>}
        </p>
      </div>
      <button type="button" className="btn btn--ghost btn--small" onClick={onRevoke} data-testid="api-key-revoke">
        {t.keys.revoke}
      </button>
    </li>
  );
}
