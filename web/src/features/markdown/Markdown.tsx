import type { Element, ElementContent } from "hast";
import { memo, type ComponentPropsWithoutRef } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import { t } from "../../i18n";
import { CodeBlock } from "./CodeBlock";
import { SafeImage } from "./SafeImage";
import { markdownUrlTransform } from "./urls";

function textOf(nodes: ElementContent[]): string {
  let out = "";
  for (const node of nodes) {
    if (node.type === "text") out += node.value;
    else if (node.type === "element") out += textOf(node.children);
  }
  return out;
}

function languageOf(code: Element): string | null {
  const classes = code.properties.className;
  const list = Array.isArray(classes) ? classes : [];
  for (const value of list) {
    if (typeof value === "string" && value.startsWith("language-")) return value.slice("language-".length);
  }
  return null;
}

/** GFM table alignment arrives as a style object; the CSP forbids inline styles, so use classes. */
function alignClass(style: unknown): string | undefined {
  if (typeof style !== "object" || style === null) return undefined;
  const align = (style as { textAlign?: unknown }).textAlign;
  return typeof align === "string" ? `align-${align}` : undefined;
}

type CellProps = ComponentPropsWithoutRef<"td"> & { node?: Element };

const components: Components = {
  a({ href, children, node: _node, ...rest }) {
    if (!href) return <span className="md-link md-link--dropped">{children}</span>;
    if (href.startsWith("#")) {
      return (
        <a {...rest} href={href}>
          {children}
        </a>
      );
    }
    return (
      <a href={href} title={rest.title} target="_blank" rel="noopener noreferrer nofollow" className="md-link">
        {children}
        <span className="visually-hidden"> {t.markdown.externalLink}</span>
      </a>
    );
  },
  img({ src, alt, title }) {
    return <SafeImage src={typeof src === "string" ? src : undefined} alt={alt} title={title} />;
  },
  pre({ node, children }) {
    const code = node?.children.find((child): child is Element => child.type === "element" && child.tagName === "code");
    if (!code) return <pre>{children}</pre>;
    return <CodeBlock language={languageOf(code)} code={textOf(code.children).replace(/\n$/, "")} />;
  },
  table({ children }) {
    return (
      <div className="md-table" tabIndex={0} role="region" aria-label={t.markdown.table}>
        <table>{children}</table>
      </div>
    );
  },
  th({ style, children, node: _node, ...rest }: CellProps) {
    return (
      <th className={alignClass(style)} {...rest}>
        {children}
      </th>
    );
  },
  td({ style, children, node: _node, ...rest }: CellProps) {
    return (
      <td className={alignClass(style)} {...rest}>
        {children}
      </td>
    );
  },
};

/**
 * Renders untrusted Markdown (model output): GitHub-flavoured, raw HTML shown as text (never
 * parsed), dangerous URLs dropped, external images click-to-load, links opened in a new tab with
 * `rel="noopener noreferrer"`.
 */
export const Markdown = memo(function Markdown({ text, testId }: { text: string; testId?: string }) {
  return (
    <div className="markdown" data-testid={testId}>
      <ReactMarkdown remarkPlugins={[remarkGfm]} urlTransform={markdownUrlTransform} components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
});
