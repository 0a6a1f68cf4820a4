import { useId, useMemo, useState } from "react";
import { useNavigate } from "react-router";
import { errorMessage, fieldErrors, formError } from "../../api/errors";
import type { Agent, AgentInput } from "../../api/types";
import { useAppSelector } from "../../app/hooks";
import { Alert } from "../../components/Alert";
import { AgentAvatar } from "../../components/Avatar";
import { Field } from "../../components/Field";
import { FormStatus, SubmitButton } from "../../components/FormStatus";
import { ConfirmDialog } from "../../components/Modal";
import { PageHeader } from "../../components/PageHeader";
import { Spinner } from "../../components/Spinner";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { t } from "../../i18n";
import { selectUser } from "../auth/authSlice";
import { useGetModelsQuery } from "../chat/chatApi";
import { modelLabel } from "../chat/ModelPicker";
import {
  useCreateAgentMutation,
  useDeleteAgentMutation,
  useGetAgentsQuery,
  useRemoveAgentAvatarMutation,
  useUpdateAgentMutation,
  useUploadAgentAvatarMutation,
} from "./agentsApi";

const EMPTY: AgentInput = { handle: "", name: "", description: "", model: null, instructions: "", temperature: null };

/** `/agents`: find an agent and chat with it; make and change your own. */
export default function AgentsPage() {
  useDocumentTitle(t.agents.title);
  const navigate = useNavigate();
  const user = useAppSelector(selectUser);
  const agents = useGetAgentsQuery();
  const [search, setSearch] = useState("");
  const [editing, setEditing] = useState<Agent | "new" | null>(null);
  const [toDelete, setToDelete] = useState<Agent | null>(null);
  const [remove, removing] = useDeleteAgentMutation();
  const shown = useMemo(() => {
    const q = search.trim().toLowerCase().replace(/^@/, "");
    return (agents.data ?? []).filter(
      (a) => !q || a.handle.includes(q) || a.name.toLowerCase().includes(q) || a.description.toLowerCase().includes(q),
    );
  }, [agents.data, search]);
  const mayEdit = (agent: Agent) =>
    agent.handle !== "assistant" && (agent.scope === "personal" ? agent.created_by === user?.id : Boolean(user?.is_staff));

  return (
    <section className="page" aria-labelledby="agents-title">
      <PageHeader title={<span id="agents-title">{t.agents.title}</span>}>
        <button type="button" className="btn btn--primary" onClick={() => setEditing("new")} data-testid="agent-new">
          {t.agents.create}
        </button>
      </PageHeader>
      <div className="page__body">
        <div>
        <p className="page__intro">{t.agents.intro}</p>
        {editing !== null && (
          <AgentForm key={editing === "new" ? "new" : editing.id} agent={editing === "new" ? null : editing} onDone={() => setEditing(null)} />
        )}
        <Field
          label={t.agents.search}
          type="search"
          value={search}
          onValueChange={setSearch}
          placeholder={t.agents.searchPlaceholder}
          testId="agent-search"
        />
        {agents.isLoading && <Spinner />}
        {agents.isError && <Alert tone="error">{errorMessage(agents.error)}</Alert>}
        <ul className="rows" data-testid="agent-list">
          {shown.map((agent) => (
            <li key={agent.id} className="row" data-testid="agent-item" data-handle={agent.handle}>
              <AgentAvatar agent={agent} />
              <div className="row__main">
                <p className="row__title">
                  {agent.name} <span className="row__meta">@{agent.handle}</span>{" "}
                  <span className="badge">
                    {agent.handle === "assistant" ? t.agents.builtIn : agent.scope === "system" ? t.agents.system : t.agents.personal}
                  </span>
                </p>
                {agent.description && <p className="row__meta">{agent.description}</p>}
              </div>
              <button
                type="button"
                className="btn btn--primary btn--small"
                onClick={() => void navigate(`/chats?agent=${encodeURIComponent(agent.id)}`)}
                data-testid="agent-chat"
              >
                {t.agents.chat}
              </button>
              {mayEdit(agent) && (
                <>
                  <button type="button" className="btn btn--secondary btn--small" onClick={() => setEditing(agent)} data-testid="agent-edit">
                    {t.agents.edit}
                  </button>
                  <button type="button" className="btn btn--danger-outline btn--small" onClick={() => setToDelete(agent)} data-testid="agent-delete">
                    {t.agents.delete}
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
        {agents.data && shown.length === 0 && <p className="row__meta">{t.agents.none}</p>}
        </div>
      </div>
      <ConfirmDialog
        open={toDelete !== null}
        title={toDelete ? t.agents.deleteTitle(toDelete.name) : ""}
        body={t.agents.deleteBody}
        confirmLabel={t.agents.delete}
        busy={removing.isLoading}
        error={removing.isError ? errorMessage(removing.error) : null}
        onConfirm={() => {
          if (!toDelete) return;
          void remove(toDelete.id).then((result) => {
            if (!("error" in result)) setToDelete(null);
          });
        }}
        onCancel={() => setToDelete(null)}
        testId="agent-delete-dialog"
      />
    </section>
  );
}

function AgentForm({ agent, onDone }: { agent: Agent | null; onDone: () => void }) {
  const id = useId();
  const [values, setValues] = useState<AgentInput>(agent ? { ...EMPTY, ...agent } : EMPTY);
  const [temperature, setTemperature] = useState(agent?.temperature?.toString() ?? "");
  const { data: models = [] } = useGetModelsQuery();
  const [create, creating] = useCreateAgentMutation();
  const [update, updating] = useUpdateAgentMutation();
  const result = agent ? updating : creating;
  const errors = result.isError ? fieldErrors(result.error) : {};
  const set = (name: keyof AgentInput) => (value: string) => setValues((v) => ({ ...v, [name]: value }));

  const onSubmit = async () => {
    const body = { ...values, temperature: temperature.trim() === "" ? null : Number(temperature) };
    const outcome = agent ? await update({ id: agent.id, ...body }) : await create(body);
    if (!("error" in outcome)) onDone();
  };

  return (
    <form
      className="card"
      noValidate
      data-testid="agent-form"
      onSubmit={(event) => {
        event.preventDefault();
        void onSubmit();
      }}
    >
      {agent && <AvatarControls agent={agent} />}
      <Field label={t.agents.name} value={values.name} onValueChange={set("name")} error={errors.name} maxLength={64} testId="agent-name" />
      <Field
        label={t.agents.handle}
        value={values.handle}
        onValueChange={set("handle")}
        error={errors.handle}
        hint={t.agents.handleHint}
        maxLength={32}
        testId="agent-handle"
      />
      <Field
        label={t.agents.description}
        value={values.description}
        onValueChange={set("description")}
        error={errors.description}
        maxLength={500}
        testId="agent-description"
      />
      <div className="field">
        <label className="field__label" htmlFor={`${id}-instructions`}>
          {t.agents.instructions}
        </label>
        <textarea
          id={`${id}-instructions`}
          className="input"
          rows={5}
          maxLength={8000}
          value={values.instructions}
          onChange={(event) => set("instructions")(event.target.value)}
          aria-describedby={`${id}-instructions-hint`}
          data-testid="agent-instructions"
        />
        <p className="field__hint" id={`${id}-instructions-hint`}>
          {t.agents.instructionsHint}
        </p>
        {errors.instructions && <p className="field__error">{errors.instructions}</p>}
      </div>
      <div className="field">
        <label className="field__label" htmlFor={`${id}-model`}>
          {t.agents.model}
        </label>
        <select
          id={`${id}-model`}
          className="select"
          value={values.model ?? ""}
          onChange={(event) => setValues((v) => ({ ...v, model: event.target.value || null }))}
          data-testid="agent-model"
        >
          <option value="">{t.agents.defaultModel}</option>
          {models.map((m) => (
            <option key={m.id} value={m.id}>
              {modelLabel(m)}
            </option>
          ))}
        </select>
        {errors.model && <p className="field__error">{errors.model}</p>}
      </div>
      <Field
        label={t.agents.temperature}
        type="number"
        inputMode="decimal"
        min={0}
        max={2}
        step={0.1}
        value={temperature}
        onValueChange={setTemperature}
        error={errors.temperature}
        hint={t.agents.temperatureHint}
        testId="agent-temperature"
      />
      <FormStatus error={result.isError && !Object.keys(errors).length && formError(result.error)} />
      <div className="row__line">
        <SubmitButton busy={result.isLoading} label={t.agents.save} busyLabel={t.agents.saving} testId="agent-save" />
        <button type="button" className="btn btn--secondary" onClick={onDone}>
          {t.agents.cancel}
        </button>
      </div>
    </form>
  );
}

/** An existing agent's avatar: uploaded at once when a file is chosen, or removed. */
function AvatarControls({ agent }: { agent: Agent }) {
  const id = useId();
  const [upload, uploading] = useUploadAgentAvatarMutation();
  const [remove, removing] = useRemoveAgentAvatarMutation();
  const [shown, setShown] = useState(agent.avatar_url);
  const failed = uploading.isError ? uploading.error : removing.isError ? removing.error : null;
  return (
    <div className="field">
      <span className="field__label">{t.agents.avatar}</span>
      <div className="row__line">
        <AgentAvatar agent={{ name: agent.name, avatar_url: shown }} size="md" />
        <label htmlFor={id} className="btn btn--secondary btn--small file-button">
          {uploading.isLoading ? t.common.saving : t.agents.avatarChoose}
        </label>
        <input
          id={id}
          type="file"
          accept="image/png,image/jpeg,image/webp"
          className="visually-hidden"
          data-testid="agent-avatar-input"
          onChange={(event) => {
            const file = event.target.files?.[0];
            if (file) void upload({ id: agent.id, file }).then((r) => "data" in r && r.data && setShown(r.data.avatar_url));
          }}
        />
        {shown && (
          <button
            type="button"
            className="btn btn--ghost btn--small"
            disabled={removing.isLoading}
            data-testid="agent-avatar-remove"
            onClick={() => void remove(agent.id).then((r) => "data" in r && setShown(null))}
          >
            {t.agents.avatarRemove}
          </button>
        )}
      </div>
      <FormStatus error={failed && (fieldErrors(failed).file ?? formError(failed))} />
    </div>
  );
}
