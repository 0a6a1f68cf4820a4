"""Answers in flight in this worker process: batched deltas, leases, cancellations.

The first delta of an answer is written at once (first-token latency is what users feel);
later deltas are collected and flushed by one thread in a single Redis pipeline for all answers
in flight, so hundreds of concurrent generations cost a few round trips per tick instead of one
per token. The tick is `FLUSH_SECONDS` while few answers are in flight and grows with their
number (up to `MAX_FLUSH_SECONDS`): under a burst every reader gets fewer, larger deltas, and
the CPU that each event costs chat and the gateway goes to starting the answers still waiting.
The same thread renews each answer's lease (a heartbeat: a second copy of the job waits while
the lease is alive, chat shows the answer as `generating` meanwhile, and chat's sweep fails
answers whose heartbeat stopped) and notices answers that ended elsewhere (cancelled, or
failed by the sweep: the end mark `parley:ended:{id}`), closing the upstream request.

Appending is idempotent: a write whose reply was lost (Redis restarting, the connection cut
after the command went out) is sent again, and the stream must not show its text twice. Each
entry carries its writer (one per generation) and a sequence number, and a small script skips
an entry the stream already ends with.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import NoScriptError, RedisError

from kit import answers

log = logging.getLogger(__name__)
FLUSH_SECONDS = 0.02
MAX_FLUSH_SECONDS = 0.25
FLUSH_SECONDS_PER_ANSWER = 0.002  # 10 answers in flight: 20 ms; 125 or more: 250 ms
CANCEL_CHECK_SECONDS = 0.25
HEARTBEAT_SECONDS = 2.0
LEASE_SECONDS = 10
HEARTBEAT_KEEP_SECONDS = 24 * 3600

# KEYS[1] the answer stream; ARGV writer, sequence number, JSON data. Only one generation writes
# deltas to a stream at a time (the lease) and it sends its entries in order, so an entry already
# written is always the writer's last one or before it.
APPEND_ONCE = """
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if top then
  local fields, writer, seq = top[2], nil, nil
  for i = 1, #fields, 2 do
    if fields[i] == 'w' then writer = fields[i + 1] elseif fields[i] == 'n' then
      seq = tonumber(fields[i + 1]) end
  end
  if writer == ARGV[1] and seq and seq >= tonumber(ARGV[2]) then return 0 end
end
redis.call('XADD', KEYS[1], '*', 'type', 'delta', 'data', ARGV[3], 'w', ARGV[1], 'n', ARGV[2])
return 1
"""
# KEYS[1] a lease; ARGV the holder's token, seconds. Renews the lease if it is still ours, or
# takes it again if it is gone (Redis restarted without its data); 0 if another copy holds it.
RENEW_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""
# KEYS[1] a lease; ARGV the holder's token. Deletes the lease only if it is still ours.
RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
SHA = {
    script: hashlib.sha1(script.encode()).hexdigest()
    for script in (APPEND_ONCE, RENEW_LEASE, RELEASE_LEASE)
}


@dataclass
class Generation:
    message_id: uuid.UUID
    generation: int  # of the answer: a regenerate makes a new one
    key: str
    lease_token: str = ""
    writer: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    pending: list[str] = field(default_factory=list)
    # entries taken from `pending`, numbered, and not yet known to be in the stream
    unconfirmed: list[tuple[int, str]] = field(default_factory=list)
    last_seq: int = 0  # the sequence number of the last entry made
    # Another copy of the job took the lease (this one stalled past it): this copy stops,
    # writes nothing more and reports nothing.
    lost: bool = False
    started: bool = False
    cancelled: threading.Event = field(default_factory=threading.Event)
    on_cancel: Callable[[], None] | None = None

    def cancel(self) -> None:
        """Stop the answer: flag it and close its upstream request, if one is open."""
        self.cancelled.set()
        if self.on_cancel is not None:
            try:
                self.on_cancel()
            except Exception:
                log.debug("closing a cancelled upstream request failed", exc_info=True)


class InFlight:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._lock = threading.Lock()
        # Held from taking an answer's pending deltas until they are written, by the writer
        # thread and by an answer's own thread alike: otherwise an answer's last deltas, written
        # by its thread, could overtake earlier ones the writer thread has taken but not yet sent.
        self._write_lock = threading.Lock()
        self._active: dict[uuid.UUID, Generation] = {}
        self._thread = threading.Thread(target=self._run, name="answer-writer", daemon=True)
        self._thread.start()

    def acquire(
        self, message_id: uuid.UUID, generation: int, wait_seconds: float = LEASE_SECONDS + 2
    ) -> Generation | None:
        """Take the answer's lease, waiting out a dead holder's; None if a live copy holds it."""
        token = f"{self.worker_id}:{uuid.uuid4().hex}"
        lease = answers.lease_key(message_id)
        deadline = time.monotonic() + wait_seconds
        while not self.redis.set(lease, token, nx=True, ex=LEASE_SECONDS):
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.25)
        self.redis.set(
            answers.heartbeat_key(message_id), int(time.time()), ex=HEARTBEAT_KEEP_SECONDS
        )
        gen = Generation(message_id, generation, answers.stream_key(message_id), lease_token=token)
        with self._lock:
            self._active[message_id] = gen
        return gen

    def release(self, generation: Generation) -> None:
        """Flush what is pending, stop tracking the generation and give up its lease.

        With Redis away, what is left is dropped (chat's final `done` carries the whole answer)
        and the lease expires by itself."""
        with self._lock:
            self._active.pop(generation.message_id, None)
        try:
            self.flush(generation)
            lease = answers.lease_key(generation.message_id)
            self._pipeline(lambda pipe: _script(pipe, RELEASE_LEASE, lease, generation.lease_token))
        except RedisError as exc:
            log.warning("could not release the answer's stream and lease: %s", exc)

    def flush(self, generation: Generation) -> None:
        with self._write_lock:
            with self._lock:
                self._number(generation)
            self._write([generation])

    def reset(self, generation: Generation) -> None:
        """A retry starts the answer again: readers drop what they showed."""
        with self._write_lock:
            with self._lock:
                generation.pending.clear()
                generation.unconfirmed.clear()
                generation.started = False
            self.redis.xadd(generation.key, answers.encode("reset", {}))

    def delta(self, generation: Generation, text: str) -> None:
        with self._lock:
            generation.pending.append(text)
            if generation.started:
                return
            generation.started = True
            self._number(generation)
        # The first delta at once, without waiting for the writer thread's flush of every
        # answer: nothing of this answer can be ahead of it, and should that thread send it
        # too, the stream still takes it once.
        try:
            self._write([generation])
        except RedisError:  # Redis away: the writer thread sends it when Redis is back
            pass

    def flush_interval(self) -> float:
        with self._lock:
            active = len(self._active)
        return min(MAX_FLUSH_SECONDS, max(FLUSH_SECONDS, active * FLUSH_SECONDS_PER_ANSWER))

    def _run(self) -> None:
        next_cancel_check = next_heartbeat = time.monotonic()
        stop = threading.Event()
        redis_away = False
        while not stop.wait(self.flush_interval()):
            now = time.monotonic()
            try:
                self._flush()
                if now >= next_cancel_check:
                    next_cancel_check = now + CANCEL_CHECK_SECONDS
                    self._check_cancellations()
                if now >= next_heartbeat:
                    next_heartbeat = now + HEARTBEAT_SECONDS
                    self._heartbeat()
                if redis_away:
                    log.info("Redis is back: pending deltas written")
                redis_away = False
            except RedisError as exc:
                if not redis_away:  # once per outage, not every tick
                    log.warning("Redis unreachable; deltas are kept until it is back: %s", exc)
                redis_away = True
            except Exception:
                log.exception("answer writer tick failed")

    def _flush(self) -> None:
        with self._write_lock:
            with self._lock:
                for g in self._active.values():
                    self._number(g)
                batch = [g for g in self._active.values() if g.unconfirmed]
            self._write(batch)

    @staticmethod
    def _number(g: Generation) -> None:
        """Move the pending text into one numbered entry (the caller holds the lock)."""
        if g.pending:
            g.last_seq += 1
            g.unconfirmed.append((g.last_seq, "".join(g.pending)))
            g.pending = []

    def _write(self, batch: list[Generation]) -> None:
        """Append the generations' unconfirmed entries to their streams, each once. On a Redis
        error they stay unconfirmed and go out again with a later flush, ahead of what came
        since, so no reader misses or repeats one."""
        with self._lock:
            entries = [(g, seq, text) for g in batch if not g.lost for seq, text in g.unconfirmed]
        if not entries:
            return

        def append(pipe: Pipeline) -> None:
            for g, seq, text in entries:
                _script(pipe, APPEND_ONCE, g.key, g.writer, seq, answers.dump({"text": text}))

        self._pipeline(append)
        with self._lock:
            for g, seq, _ in entries:
                while g.unconfirmed and g.unconfirmed[0][0] <= seq:
                    g.unconfirmed.pop(0)

    def _check_cancellations(self) -> None:
        with self._lock:
            generations = [g for g in self._active.values() if not g.cancelled.is_set()]
        if not generations:
            return
        ended = self.redis.mget([answers.ended_key(g.message_id) for g in generations])
        for g, mark in zip(generations, ended, strict=True):
            if answers.has_ended(mark, g.generation):
                g.cancel()

    def _heartbeat(self) -> None:
        with self._lock:
            generations = [g for g in self._active.values() if not g.lost]
        if not generations:
            return
        now = int(time.time())

        def renew(pipe: Pipeline) -> None:
            for g in generations:
                lease = answers.lease_key(g.message_id)
                _script(pipe, RENEW_LEASE, lease, g.lease_token, LEASE_SECONDS)
                pipe.set(answers.heartbeat_key(g.message_id), now, ex=HEARTBEAT_KEEP_SECONDS)

        renewed = self._pipeline(renew)[::2]
        for g, ours in zip(generations, renewed, strict=True):
            if not ours:
                log.warning(
                    "the lease of answer %s passed to another copy of its job; stopping this one",
                    g.message_id,
                )
                g.lost = True
                g.cancel()

    def _pipeline(self, queue: Callable[[Pipeline], None]) -> list[Any]:
        """Send what `queue` puts in a pipeline, in one round trip. On a Redis without our
        scripts (new, or restarted) they are loaded and everything is sent again: each command
        sent this way is safe to repeat."""

        def send() -> list[Any]:
            with self.redis.pipeline(transaction=False) as pipe:
                queue(pipe)
                return pipe.execute()

        try:
            return send()
        except NoScriptError:
            for script in SHA:
                self.redis.script_load(script)
            return send()


def _script(pipe: Pipeline, script: str, key: str, *args: str | int) -> None:
    pipe.evalsha(SHA[script], 1, key, *args)
