#!/usr/bin/env python3
"""PostgreSQL restarted under a consume load.

A server on PostgreSQL (a fresh schema of TEST_DATABASE_URL) takes `POST /api/v1/billing/usage`
from 8 clients (amount 1, a fresh `event_id` per event, each event retried until it is
acknowledged). PostgreSQL is stopped for DOWN seconds (default 3) and started again, RESTARTS
times (default 2). Passes when: while it is down the server answers only 503 (no other error,
no dropped connection), the server process never exits, usage is accepted again within 10
seconds of PostgreSQL being back, and afterwards the counter equals the acknowledged events.

Needs the rights to run `pg_ctlcluster` (root on the CI machine); says why and exits 0
when it cannot restart PostgreSQL here.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, call  # noqa: E402

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
DOWN = float(os.environ.get("FAULTS_PG_DOWN", "3"))
RESTARTS = int(os.environ.get("FAULTS_PG_RESTARTS", "2"))
CLIENTS = 8


def cluster():
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if not versions or not shutil.which("pg_ctlcluster") or not shutil.which("psql"):
        return None
    return versions[-1]


def pg(action, version):
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action], check=True,
                   capture_output=True)


def pg_ready():
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode == 0


version = cluster()
if version is None or os.geteuid() != 0 or not pg_ready():
    print("PostgreSQL restart: skipped (needs a local PostgreSQL cluster, pg_ctlcluster and root)")
    sys.exit(0)

schema = f"faults_{os.getpid()}"
subprocess.run(["psql", PG_URL, "-qc", f"create schema {schema}"], check=True, capture_output=True)
sep = "&" if "?" in PG_URL else "?"
work = tempfile.mkdtemp(prefix="tariff-faults-")
server = Server(f"{PG_URL}{sep}options=-c%20search_path%3D{schema}", os.path.join(work, "server.log"))
server.cli("migrate")
server.cli("init-plans")
admin = server.token("pg-admin@example.com", "admin", admin=True)
user = server.token("pg-user@example.com", "user")
server.start()
_, me = call(server.base, "GET", "/api/v1/billing/me", user)
# A plan whose quota the load cannot reach, so every answer is about the database.
call(server.base, "POST", "/api/v1/admin/billing/plans", admin,
     {"id": "load", "name": "Load", "price": 0, "quotas": {"requests": 1_000_000_000}})
call(server.base, "POST", "/api/v1/admin/billing/subscriptions", admin, {"user_id": me["user_id"], "plan_id": "load"})

lock = threading.Lock()
acknowledged = set()
answers_down, answers_up = {}, {}
database_down = threading.Event()
stop = threading.Event()
last_success = [0.0]


def client(n):
    seq = 0
    while not stop.is_set():
        event_id = f"c{n}-e{seq}"
        while True:
            status, _ = call(server.base, "POST", "/api/v1/billing/usage", user,
                             {"metric": "requests", "amount": 1, "event_id": event_id}, timeout=15)
            with lock:
                table = answers_down if database_down.is_set() else answers_up
                table[status] = table.get(status, 0) + 1
                if status in (200, 201):
                    acknowledged.add(event_id)
                    last_success[0] = time.monotonic()
            if status in (200, 201):
                break
            time.sleep(0.02)
        seq += 1


threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
for t in threads:
    t.start()
recoveries = []
crashed = False
try:
    for _ in range(RESTARTS):
        time.sleep(2)
        database_down.set()
        pg("stop", version)
        time.sleep(DOWN)
        pg("start", version)
        while not pg_ready():
            time.sleep(0.05)
        back = time.monotonic()
        database_down.clear()
        while last_success[0] < back and time.monotonic() - back < 30:
            time.sleep(0.02)
        recoveries.append(last_success[0] - back if last_success[0] >= back else float("inf"))
        crashed = crashed or not server.alive()
    time.sleep(1)
finally:
    stop.set()
    for t in threads:
        t.join(timeout=60)
    if not pg_ready():
        pg("start", version)

_, usage = call(server.base, "GET", "/api/v1/billing/usage/requests", user)
counter = usage.get("current_usage") if isinstance(usage, dict) else None
crashed = crashed or not server.alive()
server.stop()
rows = subprocess.run(["psql", PG_URL, "-Atc", f"select count(*), count(distinct event_id) from {schema}.billing_usage"],
                      check=True, capture_output=True, text=True).stdout.strip()
subprocess.run(["psql", PG_URL, "-qc", f"set client_min_messages = warning; drop schema {schema} cascade"],
               capture_output=True)
stored, distinct = (int(x) for x in rows.split("|"))

unexpected_down = {s: n for s, n in answers_down.items() if s not in (503, 200, 201)}
print(f"PostgreSQL restarted {RESTARTS} times under load ({CLIENTS} clients), down {DOWN:.0f} s each")
print(f"  answers while down: {dict(sorted(answers_down.items()))}; otherwise: {dict(sorted(answers_up.items()))}")
print(f"  server process {'EXITED' if crashed else 'stayed up'}; usage accepted again "
      f"{', '.join(f'{r:.2f} s' for r in recoveries)} after PostgreSQL was back")
print(f"  acknowledged {len(acknowledged)}, stored {stored} ({distinct} distinct event ids), counter {counter}")
ok = (not unexpected_down and not crashed and all(r <= 10 for r in recoveries)
      and counter == len(acknowledged) == stored == distinct)
print(f"  {'ok' if ok else 'FAILED'}: only 503s while down, no crash, recovery within 10 s, no counter wrong")
sys.exit(0 if ok else 1)
