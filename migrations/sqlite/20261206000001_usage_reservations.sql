-- Reservations of usage (issue 15 §2): holds on a quota (and, past it on a plan that prices
-- overage, on the balance) for calls whose cost is known only afterwards.

-- The part of `used` that is held by reservations (`used` includes it, so every quota check
-- counts holds as used; the usage rows hold only what was committed).
alter table billing_usage_counter add column reserved integer not null default 0 check (reserved >= 0);

create table billing_usage_reservation (
    id               text primary key,
    account_id       text not null references account (id),
    user_id          text not null references app_user (id),
    subscription_id  text,
    metric           text not null,
    -- Units held, counted in the counter of (account_id, metric, period_start).
    amount           integer not null check (amount > 0),
    period_start     integer not null,
    period_end       integer not null,
    -- Taken from the balance for the units beyond the quota, micro-minor units (0 within it).
    held_micros      integer not null default 0 check (held_micros >= 0),
    status           text not null,
    expires_at       integer not null,
    committed_amount integer,
    usage_id         text,
    created_at       integer not null,
    updated_at       integer not null
);

create index billing_usage_reservation_due on billing_usage_reservation (status, expires_at);
create index billing_usage_reservation_account on billing_usage_reservation (account_id, created_at);
