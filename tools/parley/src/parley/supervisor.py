"""Running the stack in the foreground: prefixed coloured logs, readiness, restarts, clean stop."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from parley.stack import Proc

COLOURS = ["36", "35", "33", "32", "34", "31", "96", "95", "93", "92"]
STOP_GRACE_SECONDS = 10.0


def render(line: str) -> str:
    """A JSON log line as `level message (request …)`; anything else unchanged."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict) or "message" not in record:
        return line
    text = f"{record.get('level', 'info'):<7} {record['message']}"
    for key in ("request_id", "message_id", "event_type"):
        if key in record:
            text += f"  {key}={record[key]}"
    if "exc" in record:
        text += "\n" + str(record["exc"])
    return text


@dataclass
class Running:
    proc: Proc
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    restarts: int = 0


class Supervisor:
    def __init__(
        self, procs: list[Proc], env: dict[str, str], *, colour: bool | None = None
    ) -> None:
        self.running = [Running(p) for p in procs]
        self.env = env
        # `<data dir>/run/<name>.pid`, for operators (and tests) that need to signal one process
        self.run_dir = Path(env.get("PARLEY_DATA_DIR", ".parley")) / "run"
        self.width = max(len(p.name) for p in procs)
        self.colour = sys.stdout.isatty() if colour is None else colour
        self.stopping = asyncio.Event()

    def say(self, name: str, text: str, index: int = -1) -> None:
        prefix = f"{name:<{self.width}} |"
        if self.colour:
            code = COLOURS[index % len(COLOURS)] if index >= 0 else "1"
            prefix = f"\033[{code}m{prefix}\033[0m"
        for line in text.splitlines() or [""]:
            print(f"{prefix} {line}", flush=True)

    async def _pipe(self, index: int, stream: asyncio.StreamReader) -> None:
        name = self.running[index].proc.name
        while line := await stream.readline():
            self.say(name, render(line.decode(errors="replace").rstrip()), index)

    async def _start(self, index: int) -> None:
        r = self.running[index]
        r.process = await asyncio.create_subprocess_exec(
            *r.proc.argv,
            env={**self.env, **r.proc.env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
        )
        r.started_at = time.monotonic()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / f"{r.proc.name}.pid").write_text(str(r.process.pid))
        assert r.process.stdout is not None
        asyncio.create_task(self._pipe(index, r.process.stdout))

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            for r in self.running:
                if r.proc.ready_url is None:
                    continue
                while True:
                    if self.stopping.is_set():
                        return
                    try:
                        if (await http.get(r.proc.ready_url)).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{r.proc.name} was not ready after {timeout:.0f}s")
                    await asyncio.sleep(0.1)

    async def _watch(self, index: int) -> None:
        """Restart the process whenever it dies, with backoff (reset after a minute up)."""
        r = self.running[index]
        backoff = 1.0
        while not self.stopping.is_set():
            assert r.process is not None
            code = await r.process.wait()
            if self.stopping.is_set():
                return
            if time.monotonic() - r.started_at > 60:
                backoff = 1.0
            r.restarts += 1
            self.say(
                "parley", f"{r.proc.name} exited with code {code}; restarting in {backoff:.0f}s"
            )
            try:
                await asyncio.wait_for(self.stopping.wait(), backoff)
                return
            except TimeoutError:
                pass
            backoff = min(backoff * 2, 30.0)
            await self._start(index)

    async def stop(self) -> None:
        self.stopping.set()
        for r in reversed(self.running):
            if r.process and r.process.returncode is None:
                r.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for r in reversed(self.running):
            if r.process is None:
                continue
            try:
                await asyncio.wait_for(r.process.wait(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                self.say("parley", f"{r.proc.name} did not stop in time; killing it")
                r.process.kill()
                await r.process.wait()

    async def run(self, url: str, ready_timeout: float = 90.0) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        started = time.monotonic()
        for index in range(len(self.running)):
            await self._start(index)
        watchers = [asyncio.create_task(self._watch(i)) for i in range(len(self.running))]
        code = 0
        try:
            await self._wait_ready(ready_timeout)
            if not self.stopping.is_set():
                self.say(
                    "parley",
                    f"Parley is ready at {url} (in {time.monotonic() - started:.1f}s). "
                    "Press Ctrl-C to stop.",
                )
            await self.stopping.wait()
        except TimeoutError as exc:
            self.say("parley", str(exc))
            code = 1
        self.say("parley", "stopping…")
        await self.stop()
        for w in watchers:
            w.cancel()
        self.say("parley", "stopped")
        return code
