import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import type { AgentRef, Model } from "../../api/types";
import { Composer, mentionQuery } from "./Composer";
import { groupByProvider } from "./ModelPicker";

const AGENTS: AgentRef[] = [
  { id: "a-0", handle: "assistant", name: "Assistant", avatar_url: null },
  { id: "a-1", handle: "poet", name: "Poet", avatar_url: null },
  { id: "a-2", handle: "planner", name: "Planner", avatar_url: null },
];

function Harness({ onSend }: { onSend: (text: string) => Promise<unknown> }) {
  const [value, setValue] = useState("");
  return <Composer value={value} onValueChange={setValue} onSend={onSend} sending={false} agents={AGENTS} />;
}

describe("mentionQuery", () => {
  it("is the partial handle typed at the start of a draft, and nothing else", () => {
    expect(mentionQuery("@")).toBe("");
    expect(mentionQuery("@po")).toBe("po");
    expect(mentionQuery("@poet write")).toBeNull(); // chosen: the list closes
    expect(mentionQuery("hello @po")).toBeNull(); // only a leading mention addresses an agent
  });
});

describe("the @ list in the composer", () => {
  it("is driven from the keyboard: arrows choose, Enter completes, Enter again sends", async () => {
    const user = userEvent.setup();
    const onSend = vi.fn(() => Promise.resolve());
    render(<Harness onSend={onSend} />);
    const input = screen.getByTestId("composer-input");
    await user.type(input, "@p");
    const options = screen.getAllByTestId("mention-option");
    expect(options.map((o) => o.textContent)).toEqual(["Poet @poet", "Planner @planner"]);
    expect(input).toHaveAttribute("aria-expanded", "true");
    await user.keyboard("{ArrowDown}");
    expect(screen.getAllByTestId("mention-option")[1]).toHaveAttribute("aria-selected", "true");
    await user.keyboard("{Enter}");
    expect(input).toHaveValue("@planner ");
    expect(onSend).not.toHaveBeenCalled();
    expect(screen.getByTestId("mention-list")).not.toBeVisible();
    await user.type(input, "plan my week{Enter}");
    expect(onSend).toHaveBeenCalledWith("@planner plan my week");
  });

  it("closes on Escape and lets Enter send what was typed", async () => {
    const user = userEvent.setup();
    const onSend = vi.fn(() => Promise.resolve());
    render(<Harness onSend={onSend} />);
    await user.type(screen.getByTestId("composer-input"), "@poe");
    await user.keyboard("{Escape}");
    expect(screen.getByTestId("mention-list")).not.toBeVisible();
    await user.keyboard("{Enter}");
    expect(onSend).toHaveBeenCalledWith("@poe");
  });
});

describe("groupByProvider", () => {
  const model = (id: string, provider: string): Model => ({ id, name: id, provider, default: false });

  it("puts several providers' models under their names, one provider under none", () => {
    expect(groupByProvider([model("a", "openai"), model("local/b", "local"), model("c", "openai")])).toEqual([
      ["openai", [model("a", "openai"), model("c", "openai")]],
      ["local", [model("local/b", "local")]],
    ]);
    expect(groupByProvider([model("a", "openai")])).toEqual([[null, [model("a", "openai")]]]);
  });
});
