"""Soak: 20 users posting and reading for 10 minutes on PostgreSQL while an llm-worker is killed
every 60 s and Redis is restarted once (issue: hardening). Not run in CI (`make soak`).

Each user loops: post a message (a new dialog every fifth), then read its answer stream to the
end, or (every other message) poll it; answers take about a second (20 tokens, 50 ms apart).
At the end every posted message is polled until it has ended (up to the reaper's grace), and:

- completed / failed with a reason / lost (never ended: must be 0);
- duplicated (must be 0): a stored answer that is not exactly the model's reply once, or a
  stream that saw more than one `done`;
- 5xx answers the users met (a 503 while Redis restarts is counted, and reported apart);
- RSS of every process at the start and the end (should stay flat).

The broker's visibility timeout is 30 s here (not 300 s), so a killed worker's jobs come back
within the run; the reaper's grace follows it (90 s).

Run: `make soak` (or `uv run python bench/soak.py [--minutes 10] [--users 20]`); needs
`TEST_POSTGRES_URL` (PostgreSQL), like the PostgreSQL rows of `bench/answers.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from answers import Model, Stack, new_user, start_model, start_stack

from parley_testing.databases import POSTGRES_URL

REPLY = " ".join(f"soak{i}" for i in range(20))
PROCESSES = ("gateway", "auth", "chat", "llm-worker", "chat-worker", "mailer")
VISIBILITY_SECONDS = 30


@dataclass
class Tally:
    posted: list[tuple[dict[str, str], str]] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    streams_with_two_dones: int = 0
    post_refused: Counter[str] = field(default_factory=Counter)


async def read_stream(http: httpx.AsyncClient, auth: dict[str, str], message_id: str) -> int:
    """The number of `done` events on the stream, which is read to its end (or 90 s)."""
    dones = 0
    try:
        async with asyncio.timeout(90):
            async with http.stream(
                "GET", f"/api/messages/{message_id}/stream", headers=auth
            ) as response:
                if response.status_code >= 500:
                    return -response.status_code
                async for line in response.aiter_lines():
                    if line.startswith("event: done"):
                        dones += 1
                    if line.startswith("event: done") or line.startswith("event: error"):
                        break
    except (TimeoutError, httpx.HTTPError):
        pass  # cut off (a restart): the final poll decides what happened
    return dones


async def user_loop(http: httpx.AsyncClient, stop_at: float, tally: Tally, index: int) -> None:
    auth = await new_user(http)
    dialog = ""
    sent = 0
    while time.monotonic() < stop_at:
        if sent % 5 == 0:
            created = await http.post("/api/dialogs", json={}, headers=auth)
            tally.statuses[created.status_code] += 1
            if created.status_code >= 500:
                tally.server_errors["POST /api/dialogs"] += 1
                await asyncio.sleep(1)
                continue
            dialog = created.json()["id"]
        posted = await http.post(
            f"/api/dialogs/{dialog}/messages",
            json={"message_text": f"user {index} message {sent}"},
            headers=auth,
        )
        tally.statuses[posted.status_code] += 1
        sent += 1
        if posted.status_code != 202:
            if posted.status_code >= 500:
                tally.server_errors["POST messages"] += 1
            tally.post_refused[str(posted.status_code)] += 1
            await asyncio.sleep(1)
            continue
        message_id = posted.json()["id"]
        tally.posted.append((auth, message_id))
        if sent % 2:
            dones = await read_stream(http, auth, message_id)
            if dones > 1:
                tally.streams_with_two_dones += 1
            elif dones < 0:
                tally.server_errors["GET stream"] += 1
        else:
            for _ in range(300):
                polled = await http.get(f"/api/messages/{message_id}", headers=auth)
                tally.statuses[polled.status_code] += 1
                if polled.status_code >= 500:
                    tally.server_errors["GET message"] += 1
                elif polled.json()["status"] in ("completed", "failed", "cancelled"):
                    break
                await asyncio.sleep(0.3)
        await asyncio.sleep(random.uniform(0, 0.5))


async def faults(stack: Stack, stop_at: float, log: list[str]) -> None:
    started = time.monotonic()
    restarted_redis = False
    next_kill = started + 60
    while time.monotonic() < stop_at:
        await asyncio.sleep(1)
        now = time.monotonic()
        if now >= next_kill:
            try:
                os.kill(stack.pid("llm-worker"), signal.SIGKILL)
                log.append(f"{now - started:5.0f} s  llm-worker killed")
            except (OSError, ValueError) as exc:
                log.append(f"{now - started:5.0f} s  no llm-worker to kill ({exc})")
            next_kill = now + 60
        if not restarted_redis and now - started >= (stop_at - started) / 2 + 30:
            stack.redis.stop()
            await asyncio.sleep(2)
            stack.redis.start()
            restarted_redis = True
            log.append(f"{now - started:5.0f} s  Redis restarted")


def rss(stack: Stack) -> dict[str, float]:
    found = {}
    for name in PROCESSES:
        try:
            found[name] = stack.rss_mb(name)
        except (OSError, ValueError):
            found[name] = float("nan")
    return found


async def settle(http: httpx.AsyncClient, tally: Tally, deadline: float) -> Counter[str]:
    """Every posted message's final state (waiting for those still under way)."""
    outcome: Counter[str] = Counter()
    for auth, message_id in tally.posted:
        while True:
            response = await http.get(f"/api/messages/{message_id}", headers=auth)
            if response.status_code >= 500:
                await asyncio.sleep(1)
                continue
            message = response.json()
            status = message["status"]
            if status in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        if status == "completed":
            outcome["completed"] += 1
            if message["answer_text"] != REPLY:
                outcome["duplicated"] += 1
        elif status == "failed":
            outcome[f"failed: {(message.get('error') or {}).get('code', '?')}"] += 1
        elif status == "cancelled":
            outcome["cancelled"] += 1
        else:
            outcome["lost"] += 1
    return outcome


async def main(minutes: float, users: int) -> None:
    if not POSTGRES_URL:
        raise SystemExit("set TEST_POSTGRES_URL (the soak runs on PostgreSQL)")
    os.environ["PARLEY_TASK_VISIBILITY_TIMEOUT"] = str(VISIBILITY_SECONDS)
    os.environ["PARLEY_REAPER_GRACE"] = str(VISIBILITY_SECONDS * 3)
    model: Model = start_model()
    model.configure(reply=REPLY, first_token_delay=0.05, token_delay=0.05)
    stack = start_stack(model, "postgres")
    log: list[str] = []
    tally = Tally()
    try:
        before = rss(stack)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        async with httpx.AsyncClient(base_url=stack.url, timeout=60, limits=limits) as http:
            stop_at = time.monotonic() + minutes * 60
            await asyncio.gather(
                faults(stack, stop_at, log),
                *(user_loop(http, stop_at, tally, i) for i in range(users)),
            )
            outcome = await settle(http, tally, time.monotonic() + VISIBILITY_SECONDS * 4)
        after = rss(stack)
    finally:
        stack.stop()
        model.stop()

    print("\nfaults:")
    for line in log:
        print("  " + line)
    failed = {k: v for k, v in outcome.items() if k.startswith("failed")}
    rows = [
        ("answers posted", len(tally.posted)),
        ("completed", outcome["completed"]),
        ("failed with a reason", json.dumps(failed) if failed else 0),
        ("cancelled", outcome["cancelled"]),
        ("lost (never ended; target 0)", outcome["lost"]),
        ("duplicated (target 0)", outcome["duplicated"] + tally.streams_with_two_dones),
        ("5xx met by users, by request", json.dumps(dict(tally.server_errors)) or 0),
        (
            "5xx met by users, by status (500: target 0)",
            json.dumps({str(k): v for k, v in tally.statuses.items() if k >= 500}) or 0,
        ),
        ("posts refused", json.dumps(dict(tally.post_refused)) or 0),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"\n{'soak (' + str(minutes) + ' min, ' + str(users) + ' users)':<{width}} | value")
    for name, value in rows:
        print(f"{name:<{width}} | {value}")
    print(f"\n{'process':<12} | RSS start MB | RSS end MB")
    for name in PROCESSES:
        print(f"{name:<12} | {before[name]:12.0f} | {after[name]:10.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.minutes, args.users))
