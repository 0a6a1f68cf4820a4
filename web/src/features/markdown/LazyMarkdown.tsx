import { lazy, Suspense } from "react";

// react-markdown + GFM is a third of the bundle: load it beside the first API calls instead of
// before the first paint. AppShell starts the download as soon as a signed-in page shows.
const load = () => import("./Markdown");
const Markdown = lazy(() => load().then((module) => ({ default: module.Markdown })));

export function preloadMarkdown(): void {
  void load();
}

/** Markdown once its code is here; until then the same text, unformatted. */
export function LazyMarkdown({ text, testId }: { text: string; testId?: string }) {
  return (
    <Suspense
      fallback={
        <div className="markdown markdown--plain" data-testid={testId}>
          {text}
        </div>
      }
    >
      <Markdown text={text} testId={testId} />
    </Suspense>
  );
}
