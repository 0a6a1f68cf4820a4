import { useCallback, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { isApiError } from "../../api/errors";
import { isActive, type Message } from "../../api/types";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { t } from "../../i18n";
import { ConfirmEmailBanner } from "../auth/ConfirmEmailBanner";
import { Alert } from "../../components/Alert";
import { PageHeader } from "../../components/PageHeader";
import { Spinner } from "../../components/Spinner";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { AgentPicker } from "../agents/AgentPicker";
import { useGetAgentsQuery } from "../agents/agentsApi";
import { useCreateDialogMutation, useGetDialogQuery, useSendMessageMutation, useSetDialogAgentMutation } from "./chatApi";
import { Composer } from "./Composer";
import { DialogInstructions } from "./DialogInstructions";
import { MessageList } from "./MessageList";
import { ModelPicker, useEffectiveModel } from "./ModelPicker";
import { SendError } from "./SendError";
import { selectLiveAnswer } from "./streamSlice";
import { stopMessage } from "./streamThunks";
import { useSend } from "./useSend";

/** `/chats` (a new chat) and `/chats/:id` (a conversation). */
export function ChatPage() {
  const { id } = useParams();
  return id ? <Conversation key={id} dialogId={id} /> : <NewChat />;
}

function NewChat() {
  useDocumentTitle(t.dialogs.untitled);
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const { chosen } = useEffectiveModel();
  const { data: agents = [] } = useGetAgentsQuery();
  const [createDialog] = useCreateDialogMutation();
  const [draft, setDraft] = useState("");
  // an agent chosen on the Agents page (`/chats?agent=…`) or here answers the new chat
  const [agentId, setAgentId] = useState<string | null>(params.get("agent"));
  const agent = agents.find((a) => a.id === agentId);
  const send = useCallback(
    async (text: string) => {
      const result = await createDialog({ message_text: text, model: chosen ?? undefined, agent_id: agentId ?? undefined });
      if ("data" in result && result.data) {
        setDraft("");
        void navigate(`/chats/${result.data.id}`);
      }
      return result;
    },
    [createDialog, chosen, navigate, agentId],
  );
  const { sending, failure, submit, retry, dismiss } = useSend(send);

  return (
    <section className="chat" aria-labelledby="chat-title">
      <PageHeader title={<span id="chat-title">{t.dialogs.untitled}</span>}>
        <AgentPicker value={agentId} onChange={setAgentId} />
        <ModelPicker />
      </PageHeader>
      <ConfirmEmailBanner quotaReached={failure?.quotaReached ?? false} />
      <div className="chat__welcome">
        <h2 className="chat__welcome-title" data-testid="welcome-title">
          {agent && agent.handle !== "assistant" ? t.agents.chattingWith(agent.name) : t.chat.welcomeTitle}
        </h2>
        <p>{agent && agent.handle !== "assistant" && agent.description ? agent.description : t.chat.welcomeBody}</p>
      </div>
      <div className="chat__bottom">
        {failure && <SendError failure={failure} onRetry={() => void retry()} onDismiss={dismiss} />}
        <Composer value={draft} onValueChange={setDraft} onSend={submit} sending={sending} agents={agents} autoFocus />
      </div>
    </section>
  );
}

function Conversation({ dialogId }: { dialogId: string }) {
  const dispatch = useAppDispatch();
  const dialog = useGetDialogQuery(dialogId);
  const { chosen } = useEffectiveModel();
  const { data: agents = [] } = useGetAgentsQuery();
  const [setDialogAgent] = useSetDialogAgentMutation();
  const [sendMessage] = useSendMessageMutation();
  const [draft, setDraft] = useState("");
  const [last, setLast] = useState<Message | null>(null);
  const lastLive = useAppSelector((state) => (last ? selectLiveAnswer(state, last.id) : undefined));
  const name = dialog.data?.name?.trim() || t.dialogs.untitled;
  useDocumentTitle(name);

  const send = useCallback(
    async (text: string, key: string) => {
      const result = await sendMessage({ dialogId, message_text: text, model: chosen ?? undefined, idempotencyKey: key });
      if ("data" in result) setDraft((current) => (current.trim() === text ? "" : current));
      return result;
    },
    [sendMessage, dialogId, chosen],
  );
  const { sending, failure, submit, retry, dismiss } = useSend(send);
  const onMessages = useCallback((messages: Message[]) => setLast(messages[messages.length - 1] ?? null), []);

  if (dialog.isError && isApiError(dialog.error) && dialog.error.status === 404) {
    return (
      <section className="chat">
        <PageHeader title={t.dialogs.untitled} />
        <div className="chat__welcome">
          <Alert tone="error" testId="dialog-not-found">
            {t.chat.notFound}
          </Alert>
          <Link to="/chats" className="btn btn--primary">
            {t.nav.newChat}
          </Link>
        </div>
      </section>
    );
  }

  const generating = last !== null && isActive(last.status);
  return (
    <section className="chat" aria-labelledby="chat-title">
      <PageHeader title={dialog.isLoading ? <Spinner inline /> : <span id="chat-title">{name}</span>} testId="dialog-title">
        {dialog.data && <DialogInstructions dialogId={dialogId} instructions={dialog.data.instructions ?? ""} />}
        <AgentPicker
          value={dialog.data?.agent_id ?? null}
          onChange={(agentId) => void setDialogAgent({ id: dialogId, agent_id: agentId })}
        />
        <ModelPicker />
      </PageHeader>
      <ConfirmEmailBanner quotaReached={failure?.quotaReached ?? false} />
      <MessageList dialogId={dialogId} onMessages={onMessages} />
      <div className="chat__bottom">
        {failure && <SendError failure={failure} onRetry={() => void retry()} onDismiss={dismiss} />}
        <Composer
          value={draft}
          onValueChange={setDraft}
          onSend={submit}
          sending={sending}
          generating={generating}
          stopping={lastLive?.phase === "stopping"}
          onStop={last ? () => void dispatch(stopMessage(last)) : undefined}
          agents={agents}
          autoFocus
        />
      </div>
    </section>
  );
}
