-- Outgoing events and signed webhooks (issue 16).

-- The outbox: one row per event, written in the transaction of the change that causes it, so an
-- event exists if and only if its change committed. `payload` is the whole event as delivered.
create table billing_event (
    id          text primary key,
    type        text not null,
    account_id  text not null,
    user_id     text,
    payload     text not null,
    created_at  bigint not null,
    -- The customer email of the event (SMTP_URL set and the type has one): null when none,
    -- else pending, sent, skipped (the user opted out, or no address) or failed.
    email_status        text,
    email_attempts      bigint not null default 0,
    email_next_at       bigint,
    email_locked_until  bigint,
    email_error         text
);

create index billing_event_account on billing_event (account_id, created_at);
create index billing_event_created on billing_event (created_at);
create index billing_event_email on billing_event (email_status, email_next_at);

-- Endpoints registered by an operator. `event_types` is a JSON array of type names or ["*"].
-- `previous_secret` keeps signing (beside the new secret) until `previous_secret_expires_at`
-- after a rotation.
create table billing_webhook_endpoint (
    id                         text primary key,
    url                        text not null,
    description                text not null default '',
    event_types                text not null,
    enabled                    boolean not null default true,
    secret                     text not null,
    previous_secret            text,
    previous_secret_expires_at bigint,
    disabled_reason            text,
    failing_since              bigint,
    created_at                 bigint not null,
    updated_at                 bigint not null
);

-- One delivery of one event to one endpoint, made in the event's transaction for every enabled
-- endpoint that takes its type. `locked_until` is the lease of the worker making an attempt.
create table billing_webhook_delivery (
    id               text primary key,
    event_id         text not null references billing_event (id),
    endpoint_id      text not null references billing_webhook_endpoint (id) on delete cascade,
    account_id       text not null,
    status           text not null check (status in ('pending', 'delivered', 'failed')),
    attempts         bigint not null default 0,
    next_attempt_at  bigint not null,
    locked_until     bigint,
    last_status_code bigint,
    last_error       text,
    last_latency_ms  bigint,
    delivered_at     bigint,
    created_at       bigint not null,
    updated_at       bigint not null
);

create index billing_webhook_delivery_due on billing_webhook_delivery (status, next_attempt_at);
create index billing_webhook_delivery_order on billing_webhook_delivery (endpoint_id, account_id, status, event_id);
create index billing_webhook_delivery_endpoint on billing_webhook_delivery (endpoint_id, created_at);

-- Quota alerts already sent: at most one per account, metric, period and threshold (80, 100).
-- `resolved_at` is set when the quota is available again (usage.threshold.resolved).
create table billing_usage_alert (
    account_id   text not null,
    metric       text not null,
    period_start bigint not null,
    threshold    bigint not null,
    created_at   bigint not null,
    resolved_at  bigint,
    primary key (account_id, metric, period_start, threshold)
);

-- trial.will_end is sent once per subscription and trial end; subscription.renewal_upcoming
-- once per yearly period end.
alter table billing_subscription add column trial_notice_for bigint;
alter table billing_subscription add column renewal_notice_for bigint;

-- Which customer emails a user gets (JSON object kind → bool; missing kinds are on).
alter table app_user add column email_preferences text;
