"""What the gateway costs: the same authenticated GET direct to the service and through the gateway.

Starts auth, chat and the gateway as uvicorn processes on 127.0.0.1 with a real Redis (the one
`parley up` embeds) and SQLite, then, in one run:

- `GET /api/users/me` (auth) and `GET /api/dialogs` (chat) with the same access token, direct and
  through the gateway, at concurrency 1 and 32: p50/p99 latency, throughput and the ratios.
  Target: the gateway adds at most 1 ms at p50 and keeps at least 60% of the direct throughput.
- `GET /api/dialogs` through the gateway with an access token and with an API key (which the
  gateway trades for a token once a minute, then checks its scope, revocation and request rate on
  every request). Target: the key costs at most 10% more than the token (gateway CPU per request,
  throughput at concurrency 32);
- logins and token refreshes through the gateway at concurrency 8 with the production argon2
  parameters (64 MiB, t=3, p=1 unless PARLEY_ARGON2_* say otherwise);
- the time of one argon2 hash on this machine.

The load generator is a minimal HTTP/1.1 keep-alive client on raw asyncio sockets, so that the
client costs little next to the servers (this machine may have only two cores). Every loop is
bounded in time and count; all traffic stays on 127.0.0.1. Run with `make bench` or
`uv run python bench/gateway.py [--seconds 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from argon2 import PasswordHasher

from parley_testing.redis_server import RedisServer

PY = sys.executable
HOST = "127.0.0.1"
ROUNDS = 4


# --- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    auth: str
    chat: str
    gateway: str
    env: dict[str, str]
    pids: dict[str, int]


@contextmanager
def running_stack(tmp: Path) -> Iterator[Stack]:
    redis = RedisServer(tmp / "redis").start()
    ports = {name: free_port() for name in ("auth", "chat", "gateway", "metrics")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "AUTH_", "CHAT_"))}
    env.update(
        PARLEY_ENV="development",
        PARLEY_DATA_DIR=str(tmp / "data"),
        PARLEY_PUBLIC_URL=f"http://{HOST}:{ports['gateway']}",
        PARLEY_INTERNAL_TOKEN=secrets.token_urlsafe(32),
        PARLEY_AUTH_URL=f"http://{HOST}:{ports['auth']}",
        PARLEY_CHAT_URL=f"http://{HOST}:{ports['chat']}",
        PARLEY_HOST=HOST,
        PARLEY_PORT=str(ports["gateway"]),
        PARLEY_GATEWAY_METRICS_PORT=str(ports["metrics"]),
        PARLEY_WEB_DIR=str(tmp / "no-web"),
        PARLEY_COOKIE_SECURE="false",
        PARLEY_LOG_LEVEL="WARNING",
        REDIS_URL=redis.url,
        # every bench client comes from 127.0.0.1: lift the per-IP caps, keep everything else
        PARLEY_LOGIN_IP_LIMIT="1000000",
        PARLEY_REGISTER_IP_LIMIT="1000000",
        # the key's limit is still checked on every request (its cost is measured), never met
        PARLEY_API_KEY_REQUESTS_PER_MINUTE="100000000",
        OPENAI_BASE_URL=f"http://{HOST}:9/v1",
        PARLEY_MODELS="parley-demo",
    )
    (tmp / "data").mkdir(parents=True, exist_ok=True)

    def uvicorn(module: str, port: int) -> list[str]:
        return [
            PY,
            "-m",
            "uvicorn",
            f"{module}:app",
            "--host",
            HOST,
            "--port",
            str(port),
            "--no-access-log",
            "--no-proxy-headers",
            "--log-level",
            "warning",
        ]

    commands = {
        "auth": uvicorn("auth_service.main", ports["auth"]),
        "chat": uvicorn("chat_service.main", ports["chat"]),
        "gateway": [PY, "-m", "gateway"],
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name, argv in commands.items():
            log = (tmp / f"{name}.log").open("wb")
            procs.append(subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT))
            wait_ready(f"http://{HOST}:{ports[name]}/readyz", procs[-1], tmp / f"{name}.log")
        yield Stack(
            auth=f"http://{HOST}:{ports['auth']}",
            chat=f"http://{HOST}:{ports['chat']}",
            gateway=f"http://{HOST}:{ports['gateway']}",
            env=env,
            pids={name: proc.pid for name, proc in zip(commands, procs, strict=True)},
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis.stop()


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready:\n{log.read_text()[-3000:]}")


# --- load generator ------------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection; enough of the protocol for these servers' answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            body = b"".join(parts)
        else:
            body = b""
        return status, body

    def close(self) -> None:
        self.writer.close()


def raw_request(
    method: str, port: int, path: str, headers: dict[str, str], body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Result:
    name: str
    concurrency: int
    latencies: list[float]
    seconds: float
    errors: int
    warmup_requests: int = 0
    cpu_per_request: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def measure_get(
    name: str,
    port: int,
    path: str,
    token: str,
    concurrency: int,
    seconds: float,
    warmup: float = 1.0,
    max_requests: int = 200_000,
) -> Result:
    raw = raw_request("GET", port, path, {"Authorization": f"Bearer {token}"})
    connections = [await Connection.open(port) for _ in range(concurrency)]
    latencies: list[float] = []
    errors = warm = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds

    async def worker(conn: Connection) -> None:
        nonlocal errors, warm
        while (now := time.perf_counter()) < stop_at and len(latencies) < max_requests:
            status, _ = await conn.request(raw)
            took = time.perf_counter() - now
            if now < measure_from:
                warm += 1
            elif status == 200:
                latencies.append(took)
            else:
                errors += 1

    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = min(time.perf_counter(), stop_at) - measure_from
    for conn in connections:
        conn.close()
    return Result(name, concurrency, latencies, elapsed, errors, warmup_requests=warm)


async def measure_flow(
    name: str,
    connections: list[Connection],
    count: int,
    request_for: Callable[[int], bytes],
    on_answer: Callable[[int, bytes], None],
) -> Result:
    """`count` requests spread over the connections; `request_for(worker)` builds each one."""
    latencies: list[float] = []
    errors = 0
    remaining = count

    async def worker(index: int, conn: Connection) -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            began = time.perf_counter()
            status, payload = await conn.request(request_for(index))
            latencies.append(time.perf_counter() - began)
            if status == 200:
                on_answer(index, payload)
            else:
                errors += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker(i, c) for i, c in enumerate(connections)))
    return Result(name, len(connections), latencies, time.perf_counter() - began, errors)


async def measure_auth_flows(
    gateway_port: int, email: str, password: str, count: int
) -> list[Result]:
    """Logins, then refreshes (each worker rotating its own session's token), at concurrency 8."""
    headers = {"Content-Type": "application/json", "Parley-Token-Transport": "body"}
    login = raw_request(
        "POST",
        gateway_port,
        "/api/auth/login",
        headers,
        json.dumps({"email": email, "password": password}).encode(),
    )
    connections = [await Connection.open(gateway_port) for _ in range(8)]
    tokens: dict[int, str] = {}

    def keep_token(index: int, payload: bytes) -> None:
        tokens[index] = json.loads(payload)["refresh_token"]

    def refresh(index: int) -> bytes:
        body = json.dumps({"refresh_token": tokens[index]}).encode()
        return raw_request("POST", gateway_port, "/api/auth/refresh", headers, body)

    logins = await measure_flow("login", connections, count, lambda _: login, keep_token)
    refreshes = await measure_flow("refresh", connections, count, refresh, keep_token)
    for conn in connections:
        conn.close()
    return [logins, refreshes]


# --- the run -------------------------------------------------------------------------------------


def argon2_time(stack_env: dict[str, str], repeats: int = 5) -> tuple[str, float]:
    memory = int(stack_env.get("PARLEY_ARGON2_MEMORY_KIB", "65536"))
    time_cost = int(stack_env.get("PARLEY_ARGON2_TIME_COST", "3"))
    parallelism = int(stack_env.get("PARLEY_ARGON2_PARALLELISM", "1"))
    hasher = PasswordHasher(memory_cost=memory, time_cost=time_cost, parallelism=parallelism)
    hasher.hash("warm-up password")
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        hasher.hash("correct horse battery staple")
        times.append(time.perf_counter() - began)
    params = f"argon2id m={memory // 1024} MiB, t={time_cost}, p={parallelism}"
    return params, statistics.median(times) * 1000


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def alternating(
    stack: Stack, path: str, credentials: dict[str, str], concurrency: int, seconds: float
) -> dict[str, Result]:
    """The same GET through the gateway with each credential, in alternating short rounds."""
    totals = {name: Result(name, concurrency, [], 0.0, 0) for name in credentials}
    cpu = dict.fromkeys(credentials, 0.0)
    for _ in range(ROUNDS):
        for name, credential in credentials.items():
            before = cpu_seconds(stack.pids["gateway"])
            part = await measure_get(
                name, port_of(stack.gateway), path, credential, concurrency, seconds / ROUNDS, 0.3
            )
            cpu[name] += cpu_seconds(stack.pids["gateway"]) - before
            total = totals[name]
            total.latencies += part.latencies
            total.seconds += part.seconds
            total.errors += part.errors
            total.warmup_requests += part.warmup_requests
    for name, total in totals.items():
        total.cpu_per_request = cpu[name] / max(
            1, len(total.latencies) + total.warmup_requests + total.errors
        )
    return totals


async def compare_key_with_token(stack: Stack, token: str, seconds: float) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=30) as client:
        made = await client.post(
            "/api/keys", json={"name": "bench"}, headers={"Authorization": f"Bearer {token}"}
        )
        made.raise_for_status()
    credentials = {"access token": token, "API key": made.json()["key"]}
    print(
        "\nGET /api/dialogs through the gateway: an access token against an API key "
        f"({seconds:g} s per cell, {ROUNDS} alternating rounds)\n"
    )
    header = (
        f"{'credential':<14}{'conc':>5} | {'p50 ms':>8}{'p99 ms':>8}{'req/s':>8}"
        f"{'gw CPU/req':>11} | {'CPU ratio':>9}{'thru ratio':>11}"
    )
    print(header)
    print("-" * len(header))
    verdicts: dict[int, bool] = {}
    for concurrency in (1, 32):
        totals = await alternating(stack, "/api/dialogs", credentials, concurrency, seconds)
        jwt, key = totals["access token"], totals["API key"]
        for result in (jwt, key):
            cpu_ratio = result.cpu_per_request / jwt.cpu_per_request
            thru_ratio = result.throughput / jwt.throughput
            print(
                f"{result.name:<14}{concurrency:>5} | {result.pct(0.5):>8.2f}"
                f"{result.pct(0.99):>8.2f}{result.throughput:>8.0f}"
                f"{result.cpu_per_request * 1e6:>9.0f}us | {cpu_ratio:>9.2f}{thru_ratio:>11.2f}"
            )
            if result.errors:
                print(f"  ! errors: {result.errors}")
        verdicts[concurrency] = (
            key.cpu_per_request <= 1.10 * jwt.cpu_per_request
            and key.throughput >= 0.90 * jwt.throughput
        )
    print(
        "target: an API key within 10% of an access token (gateway CPU per request and "
        "throughput): "
        + "; ".join(f"concurrency {c}: {'met' if ok else 'MISSED'}" for c, ok in verdicts.items())
    )


async def run(stack: Stack, seconds: float, auth_requests: int) -> None:
    email, password = f"bench-{secrets.token_hex(4)}@example.com", "bench horse battery 42"
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=30) as client:
        registered = await client.post(
            "/api/auth/register",
            json={"email": email, "username": email.split("@")[0], "password": password},
            headers={"Parley-Token-Transport": "body"},
        )
        registered.raise_for_status()
    token = registered.json()["access_token"]

    rows: list[tuple[str, Result, Result]] = []
    for path, service_url in (("/api/users/me", stack.auth), ("/api/dialogs", stack.chat)):
        for concurrency in (1, 32):
            # alternate short rounds, so a busy moment of the machine hits both sides alike
            direct = Result(f"{path} direct", concurrency, [], 0.0, 0)
            via = Result(f"{path} gateway", concurrency, [], 0.0, 0)
            gateway_cpu = 0.0
            for _ in range(ROUNDS):
                for total, port in ((direct, port_of(service_url)), (via, port_of(stack.gateway))):
                    cpu_before = cpu_seconds(stack.pids["gateway"])
                    part = await measure_get(
                        total.name, port, path, token, concurrency, seconds / ROUNDS, warmup=0.3
                    )
                    if total is via:
                        gateway_cpu += cpu_seconds(stack.pids["gateway"]) - cpu_before
                    total.latencies += part.latencies
                    total.seconds += part.seconds
                    total.errors += part.errors
                    total.warmup_requests += part.warmup_requests
            # CPU per request, warm-up included in both terms: robust to a busy machine
            via.cpu_per_request = gateway_cpu / max(
                1, len(via.latencies) + via.warmup_requests + via.errors
            )
            rows.append((path, direct, via))

    load = os.getloadavg()[0]
    print(
        f"\nAuthenticated GET, same access token, {seconds:g} s per cell in {ROUNDS} alternating "
        f"rounds (direct, gateway, direct, ...); load average {load:.1f} on {os.cpu_count()} CPUs\n"
    )
    header = (
        f"{'request':<16}{'conc':>5} | {'direct p50':>10}{'p99':>8}{'req/s':>8} | "
        f"{'gateway p50':>11}{'p99':>8}{'req/s':>8} | {'+p50 ms':>8}{'thru %':>8}"
        f"{'gw CPU/req':>11}"
    )
    print(header)
    print("-" * len(header))
    verdicts = []
    for path, direct, via in rows:
        added = via.pct(0.5) - direct.pct(0.5)
        kept = via.throughput / direct.throughput * 100
        print(
            f"{path:<16}{direct.concurrency:>5} | {direct.pct(0.5):>10.2f}{direct.pct(0.99):>8.2f}"
            f"{direct.throughput:>8.0f} | {via.pct(0.5):>11.2f}{via.pct(0.99):>8.2f}"
            f"{via.throughput:>8.0f} | {added:>8.2f}{kept:>7.0f}%"
            f"{via.cpu_per_request * 1e6:>9.0f}us"
        )
        if direct.errors or via.errors:
            print(f"  ! errors: direct {direct.errors}, gateway {via.errors}")
        # latency is judged alone (concurrency 1), throughput under load (concurrency 32)
        if direct.concurrency == 1:
            verdicts.append((added <= 1.0, True))
        else:
            verdicts.append((True, kept >= 60))
    p50_ok = all(v[0] for v in verdicts)
    thru_ok = all(v[1] for v in verdicts)
    print(
        "\ngw CPU/req: CPU time the gateway process spent per proxied request (a figure that a "
        "busy machine disturbs far less than latency)"
    )
    print(
        f"target: +p50 <= 1 ms at concurrency 1: {'met' if p50_ok else 'MISSED'}; "
        f"throughput >= 60% of direct at concurrency 32: {'met' if thru_ok else 'MISSED'}"
    )

    await compare_key_with_token(stack, token, seconds)

    flows = await measure_auth_flows(port_of(stack.gateway), email, password, auth_requests)
    params, hash_ms = argon2_time(stack.env)
    print(f"\nThrough the gateway, concurrency 8, {auth_requests} requests each ({params})\n")
    print(f"{'flow':<10}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for result in flows:
        print(
            f"{result.name:<10}{result.throughput:>8.1f}{result.pct(0.5):>9.1f}"
            f"{result.pct(0.99):>9.1f}{result.errors:>8}"
        )
    print(
        f"\none argon2 hash ({params}) on this machine: {hash_ms:.1f} ms "
        f"(median of 5; {os.cpu_count()} CPU(s))"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per cell")
    parser.add_argument("--auth-requests", type=int, default=48, help="logins and refreshes each")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    try:
        with running_stack(tmp) as stack:
            asyncio.run(run(stack, args.seconds, args.auth_requests))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
