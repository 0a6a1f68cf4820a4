import { toJsxRuntime } from "hast-util-to-jsx-runtime";
import { useEffect, useMemo, useState } from "react";
import { Fragment, jsx, jsxs } from "react/jsx-runtime";
import { t } from "../../i18n";
import { CopyButton } from "../../components/CopyButton";
import type * as HighlightModule from "./highlight";
import { canonicalLanguage } from "./languages";

type Highlighter = typeof HighlightModule;
let loadedHighlighter: Highlighter | null = null;

/** A fenced code block: language label, copy button and lazily loaded highlighting. */
export function CodeBlock({ language, code }: { language: string | null; code: string }) {
  const grammar = canonicalLanguage(language);
  const [highlighter, setHighlighter] = useState<Highlighter | null>(() =>
    grammar && loadedHighlighter?.isLoaded(grammar) ? loadedHighlighter : null,
  );

  useEffect(() => {
    if (!grammar || highlighter) return;
    let live = true;
    void import("./highlight").then(async (module) => {
      loadedHighlighter = module;
      if ((await module.loadLanguage(grammar)) && live) setHighlighter(module);
    });
    return () => {
      live = false;
    };
  }, [grammar, highlighter]);

  const content = useMemo(() => {
    const tree = grammar && highlighter ? highlighter.highlightCode(grammar, code) : null;
    return tree ? toJsxRuntime(tree, { Fragment, jsx, jsxs }) : code;
  }, [grammar, highlighter, code]);

  const label = language ?? t.markdown.code;
  return (
    <div className="codeblock" data-testid="code-block">
      <div className="codeblock__bar">
        <span className="codeblock__lang" data-testid="code-language">
          {label}
        </span>
        <CopyButton text={code} label={t.markdown.copyCode} testId="copy-code" className="btn btn--ghost btn--small codeblock__copy" />
      </div>
      <pre className="codeblock__pre" tabIndex={0} role="region" aria-label={`${label} ${t.markdown.code}`}>
        <code className={grammar ? `hljs language-${grammar}` : "hljs"}>{content}</code>
      </pre>
    </div>
  );
}
