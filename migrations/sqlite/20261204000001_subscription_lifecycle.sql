-- Subscription lifecycle (issue 14): scheduled plan changes, pause, trials once per plan family,
-- prorated upgrades, the sandbox's test clock and MRR movements.

-- A downgrade waits for the period's end: the plan it moves to, and when (Unix seconds).
alter table billing_subscription add column pending_plan_id text references billing_plan (id);
alter table billing_subscription add column pending_change_at bigint;
-- When the subscription was paused (status 'paused'), Unix seconds.
alter table billing_subscription add column paused_at bigint;

-- What a payment of kind 'subscription' buys beyond one period of its plan: 'upgrade' (the
-- prorated difference for the rest of the period ending change_period_end; the plan switches,
-- the period stays) or 'card' (a 1 ₽ card check during a trial, refunded once it succeeds).
alter table billing_transaction add column plan_change text check (plan_change in ('upgrade', 'card'));
alter table billing_transaction add column change_period_end bigint;

-- The payment request as it was sent to YooKassa (JSON), kept until the answer comes: a create
-- call that got no answer is sent again, byte for byte, with the stored idempotence key.
alter table billing_transaction add column gateway_request text;

-- One trial per account and plan family (the plan's metadata "family", else its id).
create table billing_trial (
    account_id      text not null references account (id),
    plan_family     text not null,
    plan_id         text not null references billing_plan (id),
    subscription_id text not null,
    started_at      bigint not null,
    primary key (account_id, plan_family)
);

-- The sandbox's test clock: how far the server's "now" runs ahead of the wall clock. One row,
-- shared by every process on the database.
create table billing_test_clock (
    id             integer primary key check (id = 1),
    offset_seconds bigint not null,
    updated_at     bigint not null
);

-- Every change of an account's MRR (minor units per month, in the plan's currency).
create table billing_mrr_movement (
    id              text primary key,
    account_id      text not null references account (id),
    -- 1, 2, … per account: the order of its movements, even within one second.
    seq             bigint not null,
    subscription_id text,
    plan_id         text,
    kind            text not null check (kind in ('new', 'expansion', 'contraction', 'churn', 'reactivation')),
    currency        text not null check (currency in ('RUB', 'USD', 'EUR')),
    mrr_before      bigint not null,
    mrr_after       bigint not null,
    amount          bigint not null,
    created_at      bigint not null
);
create index billing_mrr_movement_created_idx on billing_mrr_movement (created_at);
create unique index billing_mrr_movement_account_seq on billing_mrr_movement (account_id, seq);
