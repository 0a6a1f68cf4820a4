"""The context sent to the model: instructions, the last exchanges within a token budget, the
new message. Tokens are estimated locally (about four characters a token, plus a few per
message), so building a context never needs the network."""

from __future__ import annotations

from chat_service.messages.repository import Exchange

PER_MESSAGE_TOKENS = 4


def estimate_tokens(text: str) -> int:
    return (len(text) + 3) // 4 + PER_MESSAGE_TOKENS


def build(
    instructions: list[str],
    history: list[Exchange],
    new: list[dict[str, str]],
    budget: int,
    handle: str,
) -> list[dict[str, str]]:
    """The system messages (the agent's instructions, then the dialog's; empty ones left out),
    the newest exchanges of `history` (oldest first) that fit the budget, the `new` messages. An
    answer by another agent than `handle` carries that agent's handle as its `name`, so the
    model can tell who said what."""
    system = [{"role": "system", "content": i} for i in instructions if i.strip()]
    used = sum(estimate_tokens(m["content"]) for m in [*system, *new])
    kept: list[Exchange] = []
    for exchange in reversed(history):
        cost = estimate_tokens(exchange.message_text) + estimate_tokens(exchange.answer_text)
        if used + cost > budget:
            break
        used += cost
        kept.append(exchange)
    context = list(system)
    for exchange in reversed(kept):
        context.append({"role": "user", "content": exchange.message_text})
        answer = {"role": "assistant", "content": exchange.answer_text}
        if exchange.handle != handle:
            answer["name"] = exchange.handle
        context.append(answer)
    return context + new
