#!/usr/bin/env python3
"""Seeds N accounts, users and subscriptions (default 100,000) straight into a Tariff database
for `make bench`'s admin-statistics line: plans free/starter/pro/business in turn, statuses mostly
active with some trialing, past-due, canceled and paused. Usage: seed_subscriptions.py DATABASE_URL [N]
(sqlite://path or postgres://...; a PostgreSQL URL may carry options=-c search_path=...)."""

import os
import subprocess
import sys
import time
import urllib.parse

url = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
now = int(time.time())
month = 30 * 86400

plan = "case i % 4 when 0 then 'free' when 1 then 'starter' when 2 then 'pro' else 'business' end"
status = ("case when i % 50 = 0 then 'canceled' when i % 40 = 0 then 'past_due' when i % 30 = 0 then 'trialing' "
          "when i % 97 = 0 then 'paused' else 'active' end")
statements = [
    "insert into account (id, kind, name, currency, created_at, updated_at) "
    "select 'bench-acc-' || i, 'user', 'Bench ' || i, 'RUB', {now}, {now} from n",
    "insert into app_user (id, account_id, email, name, role, locale, created_at, updated_at) "
    "select 'bench-user-' || i, 'bench-acc-' || i, 'bench' || i || '@example.com', 'Bench ' || i, 'user', 'en', {now}, {now} from n",
    "insert into billing_subscription (id, user_id, account_id, plan_id, status, current_period_start, "
    "current_period_end, cancel_at_period_end, created_at, updated_at) "
    "select 'bench-sub-' || i, 'bench-user-' || i, 'bench-acc-' || i, " + plan + ", " + status +
    ", {now}, {end}, " + "{false}" + ", {now}, {now} from n",
]

if url.startswith("sqlite:"):
    import sqlite3
    path = url.split("sqlite://", 1)[-1].split("sqlite:", 1)[-1].split("?", 1)[0]
    db = sqlite3.connect(path)
    series = f"with recursive n(i) as (select 1 union all select i + 1 from n where i < {n}) "
    for s in statements:
        db.execute(series + s.format(now=now, end=now + month, false=0))
    db.commit()
    db.execute("analyze")
else:
    parsed = urllib.parse.urlparse(url)
    options = urllib.parse.parse_qs(parsed.query).get("options", [""])[0]
    base = urllib.parse.urlunparse(parsed._replace(query=""))
    series = f"with n(i) as (select generate_series(1, {n})) "
    sql = ";\n".join(series + s.format(now=now, end=now + month, false="false") for s in statements) + ";"
    env = {"PGOPTIONS": options} if options else {}
    subprocess.run(["psql", base, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, env={**os.environ, **env})
    # What autovacuum does to a table of this size in production: statistics and the
    # visibility map (so that counts read the index only).
    subprocess.run(["psql", base, "-q", "-c", "vacuum analyze billing_subscription"], check=True, env={**os.environ, **env})
print(f"seeded {n} subscriptions")
