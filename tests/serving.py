"""The HTTP service, started once per test session as a user starts it: ``portfolio serve``
in a subprocess on 127.0.0.1 and a free port."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_TIME_LIMIT = 30.0
MAX_BODY_BYTES = 2_000_000
STARTUP_SECONDS = 90.0


@dataclass(frozen=True)
class LiveServer:
    """A running ``portfolio serve``."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    max_time_limit: float = MAX_TIME_LIMIT
    max_body_bytes: int = MAX_BODY_BYTES


def missing_service_packages() -> str | None:
    """Why the service cannot run here (None when it can)."""
    for module in ("fastapi", "uvicorn", "multipart", "httpx"):
        if importlib.util.find_spec(module) is None:
            return f"'{module}' is not installed (pip install 'portfolio[serve,dev]')"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``portfolio serve --workers 2 --max-time-limit 30 --max-body-bytes 2000000``."""
    reason = missing_service_packages()
    if reason:
        pytest.skip(reason)
    import httpx

    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p
    )
    command = [
        sys.executable, "-m", "portfolio", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "2", "--max-time-limit", str(MAX_TIME_LIMIT),
        "--max-body-bytes", str(MAX_BODY_BYTES), "--log-level", "warning",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"portfolio serve exited: {log.read_text()}")
            try:
                if httpx.get(url + "/v1/backends", timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"portfolio serve did not start: {log.read_text()}")
            time.sleep(0.2)
        yield LiveServer(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
