#!/usr/bin/env python3
"""kill -9 of the server while it writes and delivers webhook events, KILLS times (default 5).

A receiver (a real HTTP server in this script) verifies every delivery with the official
Standard Webhooks library (`standardwebhooks` from PyPI) and records its `webhook-id`. USERS users
each push their free plan's `requests` quota past 80 %, 2 requests at a time (one
`usage.threshold` event each), while a killer sends SIGKILL to the server at random moments
during the load and starts it again.

Afterwards every event committed to the outbox must reach the receiver (none lost between commit
and delivery), every delivery must carry a valid signature, and no event may exist for a usage
that was not stored. Deliveries seen twice (killed after sending, before recording) are allowed by
the specification (receivers deduplicate by `webhook-id`) and counted. Exits 1 otherwise.
"""

import http.server
import json
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time

from standardwebhooks import Webhook

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, call, free_port  # noqa: E402

KILLS = int(os.environ.get("FAULTS_WEBHOOK_KILLS", "5"))
USERS = 25
STEPS = 480  # of 2 requests each: 960 of the free plan's 1,000; the 400th crosses 80 %

received = []
bad_signatures = []
lock = threading.Lock()
secret = {"value": None}


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (the standard library's name)
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            Webhook(secret["value"]).verify(body, headers)
            with lock:
                received.append(headers["webhook-id"])
        except Exception as e:  # noqa: BLE001 (any failure is a bad signature)
            with lock:
                bad_signatures.append(f"{headers.get('webhook-id')}: {e}")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


port = free_port()
receiver = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()

work = tempfile.mkdtemp(prefix="tariff-faults-")
db_path = os.path.join(work, "webhooks.db")
server = Server(f"sqlite://{db_path}?mode=rwc", os.path.join(work, "server.log"))
server.cli("migrate")
server.cli("init-plans")
admin = server.token("hooks-admin@example.com", "admin", admin=True)
tokens = [server.token(f"hooks-{n}@example.com", "user") for n in range(USERS)]
server.start()
status, endpoint = call(server.base, "POST", "/api/v1/admin/webhooks", admin,
                        {"url": f"http://127.0.0.1:{port}/hook", "event_types": ["usage.threshold"]})
assert status == 201, (status, endpoint)
secret["value"] = endpoint["secret"]

answers = {}


def user(n):
    for step in range(STEPS):
        body = {"metric": "requests", "amount": 2, "event_id": f"u{n}-s{step}"}
        for _ in range(100):
            status, _ = call(server.base, "POST", "/api/v1/billing/usage", tokens[n], body, timeout=5)
            with lock:
                answers[status] = answers.get(status, 0) + 1
            if status in (200, 201):
                break
            # Unknown outcome (the server died): the same event again, counted once by its event_id.
            time.sleep(0.1)


threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(USERS)]
for t in threads:
    t.start()
rng = random.Random(20261206)
kills = 0
while kills < KILLS and any(t.is_alive() for t in threads):
    time.sleep(rng.uniform(0.3, 1.0))
    server.kill9()
    server.start()
    kills += 1
for t in threads:
    t.join(timeout=120)

db = sqlite3.connect(db_path)
committed = {row[0] for row in db.execute("select id from billing_event where type = 'usage.threshold'")}
crossed = db.execute(
    "select count(*) from billing_usage_counter where metric = 'requests' and used >= 800").fetchone()[0]
deadline = time.time() + 30
while time.time() < deadline:
    with lock:
        if committed <= set(received):
            break
    time.sleep(0.2)
with lock:
    got = list(received)
lost = committed - set(got)
duplicates = len(got) - len(set(got))
server.stop()
print(f"  {kills} kills during the load; answers {dict(sorted(answers.items()))}")
print(f"  events committed {len(committed)} (counters past 80 %: {crossed}), delivered {len(set(got))}, "
      f"lost {len(lost)}, seen twice {duplicates}, bad signatures {len(bad_signatures)}")
failed = False
if kills < KILLS:
    print(f"  FAIL: the load ended after {kills} of {KILLS} kills; make it longer")
    failed = True
if lost:
    print(f"  FAIL: committed events never delivered: {sorted(lost)[:5]}")
    failed = True
if bad_signatures:
    print(f"  FAIL: deliveries the Standard Webhooks library refused: {bad_signatures[:3]}")
    failed = True
if len(committed) != crossed:
    print(f"  FAIL: {crossed} counters crossed 80 % but {len(committed)} events exist")
    failed = True
if set(got) - committed:
    print("  FAIL: deliveries of events that are not in the outbox")
    failed = True
if failed:
    sys.exit(1)
print("  ok: every committed event delivered, each signature valid, one event per crossing")
