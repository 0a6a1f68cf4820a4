"""The context sent to the model: system prompt, the last exchanges within a token budget, the
new message. Tokens are estimated locally (about four characters a token, plus a few per
message), so building a context never needs the network."""

from __future__ import annotations

from chat_service.messages.repository import Exchange

PER_MESSAGE_TOKENS = 4


def estimate_tokens(text: str) -> int:
    return (len(text) + 3) // 4 + PER_MESSAGE_TOKENS


def build(
    system_prompt: str, history: list[Exchange], text: str, budget: int
) -> list[dict[str, str]]:
    """`history` is oldest first; the newest exchanges that fit the budget are kept."""
    used = estimate_tokens(system_prompt) + estimate_tokens(text)
    kept: list[Exchange] = []
    for exchange in reversed(history):
        cost = estimate_tokens(exchange.message_text) + estimate_tokens(exchange.answer_text)
        if used + cost > budget:
            break
        used += cost
        kept.append(exchange)
    context = [{"role": "system", "content": system_prompt}]
    for exchange in reversed(kept):
        context.append({"role": "user", "content": exchange.message_text})
        context.append({"role": "assistant", "content": exchange.answer_text})
    context.append({"role": "user", "content": text})
    return context
