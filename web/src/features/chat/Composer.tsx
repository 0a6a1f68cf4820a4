import { useId, useRef, type KeyboardEvent } from "react";
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
}: ComposerProps) {
  const id = useId();
  const ref = useRef<HTMLTextAreaElement>(null);
  const canSend = text.trim().length > 0 && !sending && !generating && !disabled;

  const submit = async () => {
    if (!canSend) return;
    await onSend(text.trim());
    ref.current?.focus();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
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
          onChange={(event) => setText(event.target.value)}
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
      <p id={`${id}-hint`} className="composer__hint">
        {t.chat.composerHint}
      </p>
    </form>
  );
}
