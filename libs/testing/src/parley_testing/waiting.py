"""Waiting in tests for something that happens in another thread or process, within a bound."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(what: str, check: Callable[[], T], timeout: float = 15.0) -> T:
    """`check()`'s first truthy result, asked every 50 ms; fails the test naming `what` after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"{what} not within {timeout}s"
        time.sleep(0.05)
    return result
