-- Organisations (seed 004, issue 13): an organisation is an `account` of kind 'organization'
-- whose plan, quota counters and balance its members share.

-- The account a user's usage and payments go to now; null: their personal account. Read
-- through a join on organization_member, so a user who is no longer a member bills personally.
alter table app_user add column current_account_id text references account (id);

create table organization_member (
    account_id text not null references account (id),
    user_id    text not null references app_user (id),
    role       text not null check (role in ('owner', 'admin', 'member')),
    -- The member's own caps per period: {"metrics": {"requests": 10}, "spend_micros": 50000000}.
    caps       text,
    created_at bigint not null,
    updated_at bigint not null,
    primary key (account_id, user_id)
);
create index organization_member_user_idx on organization_member (user_id);

create table organization_invitation (
    id         text primary key,
    account_id text not null references account (id),
    email      text not null,
    role       text not null check (role in ('owner', 'admin', 'member')),
    invited_by text not null references app_user (id),
    status     text not null check (status in ('pending', 'accepted', 'declined', 'revoked')),
    expires_at bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index organization_invitation_email_idx on organization_invitation (email, status);
-- One pending invitation per organisation and address (emails are stored lower-case).
create unique index organization_invitation_pending_key on organization_invitation (account_id, email)
    where status = 'pending';

-- What each member took from the shared pool per period, for member caps: by metric name, or
-- 'spend' (micro-minor units taken from the balance). Updated in the same transaction as the
-- pool's own counter, each with one conditional update.
create table billing_member_counter (
    account_id   text not null references account (id),
    user_id      text not null references app_user (id),
    cap          text not null,
    period_start bigint not null,
    period_end   bigint not null,
    used         bigint not null check (used >= 0),
    updated_at   bigint not null,
    primary key (account_id, user_id, cap, period_start)
);

-- Usage and charges by member (the organisation's usage-by-member report).
create index billing_usage_account_user_idx on billing_usage (account_id, period_start, user_id);
