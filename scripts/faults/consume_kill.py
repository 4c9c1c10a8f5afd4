#!/usr/bin/env python3
"""kill -9 of the server during a consume load, KILLS times (default 5).

32 clients consume one request each through `POST /api/v1/billing/usage` (the hot path, with
group commit), each event with its own `event_id`, as fast as the server answers; a killer
sends SIGKILL to the server at random moments and starts it again. Consumes whose answer was
lost are not retried: their outcome is unknown, which is what a crash does to a client.

Afterwards: a consume answered 201 that is missing from the store is lost (an answered consume
must be durable); an event stored twice, or a counter that differs from the stored events, is
counted twice. Both must be 0. Prints the figures; exits 1 otherwise.
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

KILLS = int(os.environ.get("FAULTS_CONSUME_KILLS", "5"))
CLIENTS = 32

work = tempfile.mkdtemp(prefix="tariff-faults-")
db_path = os.path.join(work, "consume.db")
server = Server(f"sqlite://{db_path}?mode=rwc", os.path.join(work, "server.log"))
server.cli("migrate")
server.cli("init-plans")
user_token = server.token("consume-user@example.com", "user")
server.start()
_, me = call(server.base, "GET", "/api/v1/billing/me", user_token)
user_id = me["user_id"]
# On a plan without a `requests` quota (unlimited), so no consume is refused for the quota.
admin = server.token("consume-admin@example.com", "admin", admin=True)
call(server.base, "POST", "/api/v1/admin/billing/plans", admin,
     {"id": "load", "name": "Load", "price": 0, "quotas": {"tokens_input": 1000}})
status, _ = call(server.base, "POST", "/api/v1/admin/billing/subscriptions", admin,
                 {"user_id": user_id, "plan_id": "load"})
assert status == 200, status

acknowledged = set()
lock = threading.Lock()
stop = threading.Event()
answers = {}


def client(n):
    seq = 0
    while not stop.is_set():
        event_id = f"c{n}-e{seq}"
        seq += 1
        status, _ = call(server.base, "POST", "/api/v1/billing/usage", user_token,
                         {"metric": "requests", "amount": 1, "event_id": event_id}, timeout=5)
        with lock:
            answers[status] = answers.get(status, 0) + 1
            if status == 201:
                acknowledged.add(event_id)
        if status not in (200, 201):
            time.sleep(0.02)


threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
for t in threads:
    t.start()
rng = random.Random(20261205)
for _ in range(KILLS):
    time.sleep(rng.uniform(0.5, 1.5))
    server.kill9()
    server.start()
time.sleep(0.5)
stop.set()
for t in threads:
    t.join(timeout=60)

_, usage = call(server.base, "GET", "/api/v1/billing/usage/requests", user_token)
counter = usage["current_usage"]
server.stop()
db = sqlite3.connect(db_path)
rows = dict(db.execute("select event_id, count(*) from billing_usage where account_id = "
                       "(select account_id from app_user where id = ?) and metric = 'requests' "
                       "group by event_id", (user_id,)).fetchall())
stored = set(rows)
lost = len(acknowledged - stored)
twice = sum(c - 1 for c in rows.values())
print(f"kill -9 during a consume load: {KILLS} kills, {CLIENTS} clients, {len(acknowledged)} consumes answered 201")
print(f"  answers: {dict(sorted(answers.items()))} (0 = connection refused or reset)")
print(f"  stored events {len(stored)} ({len(stored - acknowledged)} committed but unanswered), counter {counter}")
print(f"  answered consumes lost: {lost}; stored twice: {twice}; counter minus stored: {counter - len(stored)}")
sys.exit(0 if lost == 0 and twice == 0 and counter == len(stored) else 1)
