#!/usr/bin/env python3
"""kill -9 of the server during batch ingestion, KILLS times (default 20).

Four clients send batches of 100 usage events (amount 1 each, every event with its own
`event_id`) through `POST /api/v1/billing/usage/batch` with a service token, and retry a batch
(same events, same ids) until it is acknowledged, however often the server dies under them. A
killer sends SIGKILL to the server at random moments and starts it again.

Afterwards, with the server up: an acknowledged event missing from the store is lost; an event
stored twice, or a counter above the stored events, is counted twice. Both must be 0. Prints
the figures; exits 1 otherwise. Usage: ingest_kill.py [DATABASE_URL] (default: a fresh SQLite
file).
"""

import os
import random
import sqlite3
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, call  # noqa: E402

KILLS = int(os.environ.get("FAULTS_KILLS", "20"))
CLIENTS = 4
BATCH = 100

work = tempfile.mkdtemp(prefix="tariff-faults-")
db_path = os.path.join(work, "ingest.db")
server = Server(f"sqlite://{db_path}?mode=rwc", os.path.join(work, "server.log"))
server.cli("migrate")
server.cli("init-plans")
service = server.token("ingest-service@example.com", "service", admin=True)
user_token = server.token("ingest-user@example.com", "user")
server.start()
_, me = call(server.base, "GET", "/api/v1/billing/me", user_token)
user_id = me["user_id"]

acknowledged = set()
lock = threading.Lock()
stop = threading.Event()
stats = {"batches": 0, "retries": 0, "answers": {}, "duplicates": 0}


def client(n):
    seq = 0
    while not stop.is_set():
        ids = [f"c{n}-b{seq}-e{i}" for i in range(BATCH)]
        events = [{"user_id": user_id, "metric": "requests", "amount": 1, "event_id": e} for e in ids]
        while True:
            status, answer = call(server.base, "POST", "/api/v1/billing/usage/batch", service, {"events": events},
                                  timeout=5)
            with lock:
                stats["answers"][status] = stats["answers"].get(status, 0) + 1
            if status == 200:
                with lock:
                    acknowledged.update(ids)
                    stats["batches"] += 1
                    stats["duplicates"] += answer.get("duplicates", 0)
                break
            if status not in (0, 500, 502, 503):
                print(f"unexpected answer {status}", file=sys.stderr)
            with lock:
                stats["retries"] += 1
            time.sleep(0.05)
        seq += 1


threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
for t in threads:
    t.start()
rng = random.Random(20261201)
down_total = 0.0
for kill in range(KILLS):
    time.sleep(rng.uniform(0.2, 1.0))
    server.kill9()
    went_down = time.monotonic()
    server.start()
    down_total += time.monotonic() - went_down
time.sleep(0.5)
stop.set()
for t in threads:
    t.join(timeout=60)

_, usage = call(server.base, "GET", f"/api/v1/billing/usage/requests?user_id={user_id}", service)
counter = usage["current_usage"]
server.stop()
db = sqlite3.connect(db_path)
rows = dict(db.execute("select event_id, count(*) from billing_usage where account_id = "
                       "(select account_id from app_user where id = ?) and metric = 'requests' "
                       "group by event_id", (user_id,)).fetchall())
stored = set(rows)
lost = len(acknowledged - stored)
twice = sum(c - 1 for c in rows.values()) + max(0, counter - len(stored))
unacknowledged_stored = len(stored - acknowledged)

print(f"kill -9 during batch ingestion: {KILLS} kills, {stats['batches']} batches of {BATCH} acknowledged "
      f"({len(acknowledged)} events), {stats['retries']} retries, server down {down_total:.1f} s in all")
print(f"  answers: {dict(sorted(stats['answers'].items()))} (0 = connection refused or reset)")
print(f"  stored events {len(stored)}, counter {counter}; {stats['duplicates']} events of retried batches were "
      f"already stored (the kill came after the commit, before the answer) and were not counted again; "
      f"stored but never acknowledged: {unacknowledged_stored}")
print(f"  acknowledged events lost: {lost}; counted twice: {twice}")
sys.exit(0 if lost == 0 and twice == 0 and counter == len(stored) else 1)
