import { memo } from "react";
import { isActive, type Message } from "../../api/types";
import { useAppSelector } from "../../app/hooks";
import { t } from "../../i18n";
import { LazyMarkdown } from "../markdown/LazyMarkdown";
import { AgentAvatar } from "../../components/Avatar";
import { CopyButton } from "../../components/CopyButton";
import { formatTime } from "./groupByDay";
import { DemoBadge, isDemoModel } from "./ModelPicker";
import { selectLiveAnswer } from "./streamSlice";

export interface MessageItemProps {
  message: Message;
  isLast: boolean;
  onStop: (message: Message) => void;
  onRegenerate: (message: Message) => void;
  regenerating: boolean;
}

/** The text to show: the live stream once it has said something, else what is stored. */
export function useAnswerText(message: Message): { text: string; phase: string | null } {
  const live = useAppSelector((state) => selectLiveAnswer(state, message.id));
  if (live?.received) return { text: live.text, phase: live.phase };
  return { text: message.answer_text ?? "", phase: live?.phase ?? null };
}

function StatusNote({ message, phase }: { message: Message; phase: string | null }) {
  if (phase === "reconnecting") return <p className="answer__note answer__note--warn">{t.chat.reconnecting}</p>;
  if (phase === "polling") return <p className="answer__note answer__note--warn">{t.chat.polling}</p>;
  if (message.status === "cancelled") return <p className="answer__note" data-testid="answer-cancelled">{t.chat.cancelled}</p>;
  return null;
}

/** One exchange: the user's message and the assistant's answer, with its actions. */
export const MessageItem = memo(function MessageItem({ message, isLast, onStop, onRegenerate, regenerating }: MessageItemProps) {
  const { text, phase } = useAnswerText(message);
  const active = isActive(message.status);
  const stopping = phase === "stopping";
  const waiting = active && text === "";

  return (
    <li className="exchange" data-testid="message-item" data-message-id={message.id} data-status={message.status}>
      <div className="turn turn--user">
        <div className="turn__meta">
          <span className="turn__author">{t.chat.you}</span>
          <time dateTime={message.created_at} className="turn__time">
            {formatTime(message.created_at)}
          </time>
        </div>
        <div className="bubble bubble--user" data-testid="message-text">
          {message.message_text}
        </div>
      </div>

      <div className="turn turn--assistant" aria-busy={active}>
        <div className="turn__meta">
          {message.agent?.avatar_url && <AgentAvatar agent={message.agent} />}
          <span className="turn__author" data-testid="answer-author">
            {message.agent?.name ?? t.chat.assistant}
          </span>
          {message.model && (
            <span className="turn__model" title={t.chat.modelUsed(message.model)}>
              {isDemoModel(message.model) ? <DemoBadge /> : message.model}
            </span>
          )}
        </div>
        <div className={`answer${active ? " answer--active" : ""}`}>
          {waiting ? (
            <p className="answer__waiting" data-testid="answer-waiting">
              <span className="typing" aria-hidden="true">
                <span />
                <span />
                <span />
              </span>
              {message.status === "queued" && phase !== "streaming" ? t.chat.queued : t.chat.thinking}
            </p>
          ) : (
            <LazyMarkdown text={text} testId="answer-body" />
          )}
          <StatusNote message={message} phase={phase} />
          {message.status === "failed" && (
            <div className="answer__error" role="alert" data-testid="answer-error">
              <p>
                <strong>{t.chat.failed}</strong> {message.error?.message}
                {text ? ` ${t.chat.partialKept}` : ""}
              </p>
              <button
                type="button"
                className="btn btn--secondary btn--small"
                onClick={() => onRegenerate(message)}
                disabled={regenerating}
                data-testid="retry-button"
              >
                {t.chat.retry}
              </button>
            </div>
          )}
        </div>
        <div className="answer__actions">
          {active ? (
            <button
              type="button"
              className="btn btn--secondary btn--small"
              onClick={() => onStop(message)}
              disabled={stopping}
              data-testid="stop-button"
            >
              {stopping ? t.chat.stopping : t.chat.stop}
            </button>
          ) : (
            <>
              {text && <CopyButton text={text} label={t.chat.copyAnswer} testId="copy-answer" />}
              {isLast && message.status !== "failed" && (
                <button
                  type="button"
                  className="btn btn--ghost btn--small"
                  onClick={() => onRegenerate(message)}
                  disabled={regenerating}
                  data-testid="regenerate-button"
                >
                  {t.chat.regenerate}
                </button>
              )}
            </>
          )}
        </div>
      </div>
    </li>
  );
});
