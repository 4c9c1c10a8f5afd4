"""What the fault scripts share: a Tariff server process on a fresh database, tokens made with
the CLI, JSON over HTTP with the standard library only, and the server's resident memory.

Nothing here judges; each script prints its own figures and decides pass or fail.
"""

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("TARIFF_BIN", os.path.join(ROOT, "target", "release", "tariff"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`tariff serve` on `database_url` and a random port; restartable, killable."""

    def __init__(self, database_url, log_path, extra_env=None):
        if not os.access(BIN, os.X_OK):
            raise SystemExit(f"error: {BIN} is missing; run 'cargo leptos build --release' first")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ)
        self.env.update(
            {
                "DATABASE_URL": database_url,
                "LEPTOS_SITE_ADDR": f"127.0.0.1:{self.port}",
                "LEPTOS_SITE_ROOT": os.path.join(ROOT, "target", "site"),
                "APP_BASE_URL": self.base,
                "RUST_LOG": os.environ.get("RUST_LOG", "warn"),
                "DATABASE_MAX_CONNECTIONS": "8",
                # The fault scripts send far more than a rate limit allows; off unless asked.
                "RATE_LIMIT_ENABLED": "off",
            }
        )
        self.env.update(extra_env or {})
        self.log = open(log_path, "ab")
        self.process = None

    def cli(self, *args):
        """Runs a CLI command against the same database; returns its last output line."""
        env = dict(self.env, RUST_LOG="error")
        out = subprocess.run([BIN, *args], env=env, check=True, capture_output=True, text=True).stdout
        return out.strip().splitlines()[-1] if out.strip() else ""

    def token(self, email, scope, admin=False):
        args = ["user", "create", "--email", email, "--password", "fault-password-1"]
        if admin:
            args.append("--admin")
        try:
            self.cli(*args)
        except subprocess.CalledProcessError:
            pass  # the user exists already
        return self.cli("token", "create", "--email", email, "--name", "faults", "--scope", scope)

    def start(self, timeout=30):
        self.process = subprocess.Popen([BIN, "serve"], env=self.env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"error: the server exited during start-up (see {self.log.name})")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise SystemExit("error: the server did not become healthy")

    def kill9(self):
        self.process.kill()
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def rss_kib(self):
        try:
            with open(f"/proc/{self.process.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0


def call(base, method, path, token=None, body=None, timeout=10, headers=None, raw=None):
    """One request; returns (status, parsed JSON or text). Network failures return (0, reason)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            text = r.read().decode()
            status = r.status
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        status = e.code
    except (urllib.error.URLError, OSError, ConnectionError) as e:
        return 0, str(e)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text
