import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Markdown } from "./Markdown";
import { markdownUrlTransform, safeHref, safeImageSrc } from "./urls";

const HOSTILE = `
# Hello

<script>window.__pwned = true</script>
<img src="https://evil.example/pixel.gif" onerror="window.__pwned = true">
<iframe src="https://evil.example"></iframe>

[click me](javascript:alert(1)) [upper](JaVaScRiPt:alert(1)) [tabbed](java\tscript:alert(1))
[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) [vb](vbscript:msgbox(1))
[ok](https://example.com/docs) [mail](mailto:ada@example.com) [ref]

[ref]: javascript:alert(2)

![tracker](https://evil.example/track.png "title")
![inline](data:image/png;base64,iVBORw0KGgo=)
`;

describe("Markdown (untrusted model output)", () => {
  it("never creates script, iframe or raw HTML elements", () => {
    const { container } = render(<Markdown text={HOSTILE} />);
    expect(container.querySelector("script, iframe, style, object, embed")).toBeNull();
    // Raw HTML is shown as text, not parsed.
    expect(container.textContent).toContain("<script>window.__pwned = true</script>");
    expect((window as { __pwned?: boolean }).__pwned).toBeUndefined();
    for (const element of container.querySelectorAll("*")) {
      for (const attribute of element.getAttributeNames()) {
        expect(attribute.startsWith("on"), `${element.tagName} has ${attribute}`).toBe(false);
      }
      expect(element.hasAttribute("style"), `${element.tagName} has an inline style`).toBe(false);
    }
  });

  it("drops javascript:, data: and vbscript: links but keeps their text", () => {
    const { container } = render(<Markdown text={HOSTILE} />);
    const hrefs = [...container.querySelectorAll("a")].map((a) => a.getAttribute("href") ?? "");
    expect(hrefs.every((href) => /^(https?:|mailto:)/.test(href))).toBe(true);
    expect(hrefs).toEqual(expect.arrayContaining(["https://example.com/docs", "mailto:ada@example.com"]));
    expect(screen.getByText("click me").closest("a")).toBeNull();
    expect(screen.getByText("data").closest("a")).toBeNull();
    expect(screen.getByText("ref").closest("a")).toBeNull();
  });

  it("opens external links in a new tab without opener or referrer", () => {
    render(<Markdown text="[docs](https://example.com/docs)" />);
    const link = screen.getByRole("link", { name: /docs/ });
    expect(link).toHaveAttribute("target", "_blank");
    expect(link.getAttribute("rel")?.split(" ")).toEqual(expect.arrayContaining(["noopener", "noreferrer"]));
  });

  it("loads no external image until the user asks, then without referrer", () => {
    const { container } = render(<Markdown text={HOSTILE} />);
    expect(container.querySelector("img")).toBeNull();
    const placeholder = screen.getByRole("button", { name: /tracker.*evil\.example/i });
    fireEvent.click(placeholder);
    const img = container.querySelector("img");
    expect(img).toHaveAttribute("src", "https://evil.example/track.png");
    expect(img).toHaveAttribute("referrerpolicy", "no-referrer");
    // The data: image was dropped entirely: only the clicked one exists.
    expect(container.querySelectorAll("img")).toHaveLength(1);
  });

  it("offers a link when the loaded image fails (e.g. blocked by the CSP)", () => {
    const { container } = render(<Markdown text="![chart](https://cdn.example/chart.png)" />);
    fireEvent.click(screen.getByTestId("image-placeholder"));
    const img = container.querySelector("img");
    expect(img).not.toBeNull();
    if (img) fireEvent.error(img);
    expect(screen.getByTestId("image-failed")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: /new tab/i })).toHaveAttribute("rel", "noopener noreferrer nofollow");
  });

  it("renders GFM: tables with alignment classes, task lists, strikethrough", () => {
    const { container } = render(<Markdown text={"| a | b |\n|:-:|--:|\n| 1 | 2 |\n\n- [x] done\n\n~~old~~"} />);
    expect(container.querySelector("th.align-center")).not.toBeNull();
    expect(container.querySelector("td.align-right")).not.toBeNull();
    expect(container.querySelector("input[type=checkbox]")).not.toBeNull();
    expect(container.querySelector("del")).not.toBeNull();
    expect(container.querySelector("[style]")).toBeNull();
  });

  it("shows code blocks with a language label, a copy button and lazy highlighting", async () => {
    render(<Markdown text={"```python\ndef f():\n    return 1\n```"} />);
    expect(screen.getByTestId("code-language")).toHaveTextContent("python");
    expect(screen.getByRole("button", { name: "Copy code" })).toBeInTheDocument();
    const code = screen.getByRole("region", { name: /python/ }).querySelector("code");
    expect(code).toHaveTextContent("def f():");
    await waitFor(() => expect(code?.querySelector(".hljs-keyword")).not.toBeNull());
    expect(code?.textContent).toBe("def f():\n    return 1");
  });

  it("leaves unknown languages unhighlighted", async () => {
    render(<Markdown text={"```klingon\nqapla'\n```"} />);
    await act(() => new Promise((resolve) => setTimeout(resolve, 20)));
    expect(screen.getByTestId("code-language")).toHaveTextContent("klingon");
    expect(document.querySelector(".hljs-keyword")).toBeNull();
  });
});

describe("URL policy", () => {
  it("allows only http(s) and mailto links and http(s) images", () => {
    expect(safeHref(" https://a.example/x ")).toBe("https://a.example/x");
    expect(safeHref("#fn-1")).toBe("#fn-1");
    expect(safeHref("javascript:alert(1)")).toBeNull();
    expect(safeHref("  JAVASCRIPT:alert(1)")).toBeNull();
    expect(safeHref("java\nscript:alert(1)")).toBeNull();
    expect(safeHref("data:text/html,<b>x</b>")).toBeNull();
    expect(safeHref("file:///etc/passwd")).toBeNull();
    expect(safeImageSrc("data:image/png;base64,AAAA")).toBeNull();
    expect(safeImageSrc("https://img.example/a.png")).toBe("https://img.example/a.png");
  });

  it("drops URL attributes other than link href and image src", () => {
    expect(markdownUrlTransform("https://x.example", "cite", { tagName: "blockquote" })).toBeNull();
  });
});
