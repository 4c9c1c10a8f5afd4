#!/usr/bin/env python3
"""Memory under hostile input: the server's resident memory (RSS) stays flat.

For SECONDS (FAULTS_MEMORY_SECONDS, default 600) six clients send what an attacker without an
account can: logins with random and very long emails, sign-up floods, unknown paths, random
bearer tokens, oversized and malformed bodies. RSS is sampled every few seconds and printed.

Flat means: the highest RSS of the last quarter of the run is at most 32 MiB above the highest
RSS of the first quarter (after the caches, pools and throttle maps have filled). Exits 1
otherwise, or when any answer is a 5xx.
"""

import os
import random
import string
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, call  # noqa: E402

SECONDS = float(os.environ.get("FAULTS_MEMORY_SECONDS", "600"))
SLACK_KIB = 32 * 1024

work = tempfile.mkdtemp(prefix="tariff-faults-")
server = Server(f"sqlite://{work}/memory.db?mode=rwc", os.path.join(work, "server.log"))
server.cli("migrate")
server.cli("init-plans")
server.start()
origin = {"Origin": server.base, "Accept": "application/json"}

stop = threading.Event()
lock = threading.Lock()
answers = {}
server_errors = []


def word(rng, n):
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def form(fields):
    return urllib.parse.urlencode(fields).encode()


def record(status, what):
    with lock:
        answers[status] = answers.get(status, 0) + 1
        if status >= 500:
            server_errors.append((status, what))


def login_guesses(rng):
    size = rng.choice([8, 64, 300, 5_000, 60_000])
    email = f"{word(rng, size)}@example.com"
    status, _ = call(server.base, "POST", "/api/ui/login", raw=form({"email": email, "password": word(rng, 12)}),
                     headers={**origin, "Content-Type": "application/x-www-form-urlencoded"})
    record(status, "login")


def sign_ups(rng):
    fields = {"name": word(rng, rng.choice([3, 150])), "email": f"{word(rng, 12)}@example.com",
              "password": word(rng, rng.choice([12, 2_000])), "next": ""}
    status, _ = call(server.base, "POST", "/api/ui/signup", raw=form(fields),
                     headers={**origin, "Content-Type": "application/x-www-form-urlencoded"})
    record(status, "signup")


def unknown_paths(rng):
    path = "/" + "/".join(word(rng, rng.randint(1, 40)) for _ in range(rng.randint(1, 6)))
    status, _ = call(server.base, "GET", path + "?" + word(rng, rng.randint(0, 2_000)))
    record(status, "path")


def bad_tokens(rng):
    status, _ = call(server.base, "GET", "/api/v1/billing/me", token="trf_" + word(rng, rng.choice([64, 500])))
    record(status, "token")


def bad_bodies(rng):
    choice = rng.randrange(3)
    if choice == 0:
        raw = b'{"metric": "requests", "amount": 1, "metadata": {"x": "' + b"y" * rng.randint(1, 900_000) + b'"}}'
    elif choice == 1:
        raw = b"[" * rng.randint(1, 10_000)
    else:
        raw = os.urandom(rng.randint(1, 50_000))
    status, _ = call(server.base, "POST", "/api/v1/billing/usage", token="trf_" + "0" * 64, raw=raw)
    record(status, "body")


def big_bodies(rng):
    status, _ = call(server.base, "POST", "/api/v1/billing/webhook/yookassa", raw=b"x" * rng.randint(300_000, 3_000_000))
    record(status, "webhook")


def client(task, seed):
    rng = random.Random(seed)
    while not stop.is_set():
        task(rng)


tasks = [login_guesses, sign_ups, unknown_paths, bad_tokens, bad_bodies, big_bodies]
threads = [threading.Thread(target=client, args=(t, i), daemon=True) for i, t in enumerate(tasks)]
start = time.monotonic()
samples = [(0.0, server.rss_kib())]
for t in threads:
    t.start()
interval = max(1.0, min(10.0, SECONDS / 60))
while time.monotonic() - start < SECONDS:
    time.sleep(interval)
    samples.append((time.monotonic() - start, server.rss_kib()))
stop.set()
for t in threads:
    t.join(timeout=30)
alive = server.alive()
server.stop()

quarter = SECONDS / 4
first = max(kib for at, kib in samples if at <= quarter)
last = max(kib for at, kib in samples if at >= SECONDS - quarter)
requests = sum(answers.values())
print(f"memory under hostile input for {SECONDS:.0f} s: {requests} requests "
      f"({requests / SECONDS:.0f}/s), answers {dict(sorted(answers.items()))}")
marks = samples[:: max(1, len(samples) // 8)] + [samples[-1]]
print("  RSS: " + ", ".join(f"{at:.0f} s {kib / 1024:.1f} MiB" for at, kib in marks))
print(f"  highest RSS, first quarter {first / 1024:.1f} MiB, last quarter {last / 1024:.1f} MiB "
      f"(growth {(last - first) / 1024:+.1f} MiB; at most {SLACK_KIB / 1024:.0f} MiB allowed)")
if server_errors:
    print(f"  server errors: {server_errors[:5]}")
ok = alive and not server_errors and last - first <= SLACK_KIB
print(f"  {'ok' if ok else 'FAILED'}: memory flat, no 5xx, server up")
sys.exit(0 if ok else 1)
