import { useEffect, useRef, useState } from "react";
import { t } from "../i18n";
import { copyText } from "./clipboard";

/** A button that copies `text` and says so for a moment (announced to screen readers too). */
export function CopyButton({
  text,
  label = t.common.copy,
  className = "btn btn--ghost btn--small",
  testId,
}: {
  text: string | (() => string);
  label?: string;
  className?: string;
  testId?: string;
}) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const onClick = async () => {
    const ok = await copyText(typeof text === "function" ? text() : text);
    setState(ok ? "copied" : "failed");
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setState("idle"), 2000);
  };
  const shown = state === "copied" ? t.common.copied : state === "failed" ? t.common.copyFailed : label;
  return (
    <button type="button" className={className} onClick={onClick} data-testid={testId} aria-label={label}>
      <span aria-hidden="true">{shown}</span>
      <span className="visually-hidden" aria-live="polite">
        {state === "idle" ? "" : shown}
      </span>
    </button>
  );
}
