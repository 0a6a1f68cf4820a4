"""The provider's streamed answer: each chunk as plain JSON, and the connection kept for the next.

The SDK's own stream stops reading at `data: [DONE]` and closes the response with the end of the
HTTP/1.1 chunked body still unread, so the connection cannot go back to the pool: every answer
paid a new TCP (and, with a real provider, TLS) handshake before its first token. Here the rest of
the body, normally just that end marker, is read first. A provider that keeps its stream open after
`[DONE]` costs at most the read timeout, and the answer is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import openai

log = logging.getLogger(__name__)


class ProviderStream(openai.Stream[object]):
    def __stream__(self) -> Iterator[object]:
        events = self._iter_events()
        try:
            for sse in events:
                if sse.data.startswith("[DONE]"):
                    self._read_rest(events)
                    return
                data = sse.json()
                if isinstance(data, dict) and data.get("error"):
                    raise openai.APIError(
                        _error_message(data["error"]),
                        request=self.response.request,
                        body=data["error"],
                    )
                yield data
        finally:
            self.response.close()

    def _read_rest(self, events: Iterator[Any]) -> None:
        try:
            for _ in events:
                pass
        except openai.APIError as exc:  # the answer is whole; only this connection is lost
            log.warning("the provider's stream did not end after [DONE]: %s", exc)


def _error_message(error: Any) -> str:
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) and message else "An error occurred during streaming"
