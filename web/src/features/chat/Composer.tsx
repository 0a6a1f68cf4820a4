import { useId, useRef, useState, type KeyboardEvent } from "react";
import type { AgentRef } from "../../api/types";
import { t } from "../../i18n";

const MAX_ROWS = 10;

/** Rows for the fallback sizing (browsers without CSS `field-sizing: content`). */
function rowsFor(text: string): number {
  return Math.min(MAX_ROWS, Math.max(1, text.split("\n").length));
}

export interface ComposerProps {
  value: string;
  onValueChange: (value: string) => void;
  /** Called with the trimmed text; the owner clears `value` once the message is accepted. */
  onSend: (text: string) => Promise<unknown>;
  sending: boolean;
  /** An answer is being generated: offer Stop instead of Send. */
  generating?: boolean;
  onStop?: (() => void) | undefined;
  stopping?: boolean;
  disabled?: boolean;
  autoFocus?: boolean;
  /** Agents offered when the draft starts with `@` (a leading `@handle` addresses one). */
  agents?: AgentRef[];
}

/** The partial `@handle` typed at the start of a draft, the only place a mention counts. */
export function mentionQuery(text: string): string | null {
  const match = /^@([a-z0-9_-]{0,32})$/.exec(text);
  return match ? (match[1] ?? "") : null;
}

/**
 * The message input: grows with its content (CSS `field-sizing`, with a rows fallback — no inline
 * styles under the CSP), Enter sends, Shift+Enter adds a line, IME composition is respected.
 */
export function Composer({
  value: text,
  onValueChange: setText,
  onSend,
  sending,
  generating = false,
  onStop,
  stopping = false,
  disabled = false,
  autoFocus = false,
  agents = [],
}: ComposerProps) {
  const id = useId();
  const ref = useRef<HTMLTextAreaElement>(null);
  const canSend = text.trim().length > 0 && !sending && !generating && !disabled;
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<string | null>(null);
  const query = mentionQuery(text);
  const matches =
    query === null || dismissed === text
      ? []
      : agents.filter((a) => a.handle.startsWith(query) || a.name.toLowerCase().startsWith(query));
  const open = matches.length > 0;
  const current = Math.min(active, matches.length - 1);

  const choose = (agent: AgentRef) => {
    setText(`@${agent.handle} `);
    setActive(0);
    ref.current?.focus();
  };

  const submit = async () => {
    if (!canSend) return;
    await onSend(text.trim());
    ref.current?.focus();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (open && !event.nativeEvent.isComposing) {
      const picked = matches[current];
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        setActive((current + step + matches.length) % matches.length);
        return;
      }
      if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && picked) {
        event.preventDefault();
        choose(picked);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        setDismissed(text);
        return;
      }
    }
    if (event.key !== "Enter" || event.shiftKey || event.nativeEvent.isComposing) return;
    event.preventDefault();
    void submit();
  };

  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
      data-testid="composer"
    >
      <label htmlFor={id} className="visually-hidden">
        {t.chat.composerLabel}
      </label>
      <div className="composer__box">
        <textarea
          id={id}
          ref={ref}
          className="composer__input"
          value={text}
          rows={rowsFor(text)}
          placeholder={t.chat.composerPlaceholder}
          aria-describedby={`${id}-hint`}
          role="combobox"
          aria-expanded={open}
          aria-autocomplete="list"
          aria-controls={`${id}-agents`}
          aria-activedescendant={open ? `${id}-agent-${current}` : undefined}
          onChange={(event) => {
            setText(event.target.value);
            setActive(0);
          }}
          onKeyDown={onKeyDown}
          disabled={disabled}
          // eslint-disable-next-line jsx-a11y/no-autofocus -- typing a message is what the chat page is for
          autoFocus={autoFocus}
          maxLength={32_000}
          data-testid="composer-input"
        />
        {generating && onStop ? (
          <button
            type="button"
            className="btn btn--secondary composer__button"
            onClick={onStop}
            disabled={stopping}
            data-testid="composer-stop"
          >
            {stopping ? t.chat.stopping : t.chat.stop}
          </button>
        ) : (
          <button type="submit" className="btn btn--primary composer__button" disabled={!canSend} data-testid="send-button">
            {sending ? t.chat.sending : t.chat.send}
          </button>
        )}
      </div>
      <ul
        id={`${id}-agents`}
        role="listbox"
        className="mentions"
        aria-label={t.agents.mentionList}
        hidden={!open}
        data-testid="mention-list"
      >
        {matches.map((agent, index) => (
          <li
            key={agent.id}
            id={`${id}-agent-${index}`}
            role="option"
            aria-selected={index === current}
            className={index === current ? "mentions__item mentions__item--active" : "mentions__item"}
            onMouseDown={(event) => {
              event.preventDefault(); // keep the focus in the composer
              choose(agent);
            }}
            data-testid="mention-option"
          >
            <span className="mentions__name">{agent.name}</span> <span className="mentions__handle">@{agent.handle}</span>
          </li>
        ))}
      </ul>
      <p id={`${id}-hint`} className="composer__hint">
        {t.chat.composerHint}
      </p>
    </form>
  );
}
