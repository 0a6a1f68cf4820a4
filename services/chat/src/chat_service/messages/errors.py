"""The errors of the messages API (problem+json codes)."""

from __future__ import annotations

from kit.errors import Conflict, Forbidden, NotFound


class MessageNotFound(NotFound):
    code = "message_not_found"

    def __init__(self) -> None:
        super().__init__("No such message.")


class EmailNotConfirmed(Forbidden):
    code = "email_not_confirmed"


class StaleGeneration(Conflict):
    code = "stale_generation"


class MessageInProgress(Conflict):
    code = "message_in_progress"
