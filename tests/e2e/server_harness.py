"""Starts a real `tessera serve` on a free loopback port for the server tests and benchmarks."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `tessera serve`; `url` is its base URL. stop() sends SIGTERM and returns the exit status."""

    def __init__(self, binary: Path, *args, log_path: Path | None = None, wait=True, timeout=120):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen([str(binary), "serve", "--port", str(self.port), *map(str, args)],
                                     stdout=subprocess.DEVNULL, stderr=self._log)
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tessera serve exited with {self.proc.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise RuntimeError("tessera serve did not become ready")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def request(self, method, path, body=None, headers=None, raw: bytes | None = None, timeout=120):
        """(status, parsed JSON or text) of one HTTP request."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        if data is not None and "Content-Type" not in (headers or {}):
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        try:
            return status, json.loads(text)
        except json.JSONDecodeError:
            return status, text

    def stop(self, timeout=30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not subprocess.DEVNULL:
            self._log.close()
        return self.proc.returncode

    def openai_client(self, api_key="unused", timeout=300):
        """The official openai client pointed at this server, without retries (errors must show)."""
        import openai
        return openai.OpenAI(base_url=self.url + "/v1", api_key=api_key, max_retries=0, timeout=timeout)


def default_model() -> Path:
    return Path(os.environ.get("TESSERA_MODEL", Path(__file__).resolve().parents[2] / "models" /
                               "gemma-3-270m-q4_k_m.gguf"))
