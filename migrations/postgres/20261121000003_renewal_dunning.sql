-- Dunning state of a subscription whose renewal charge failed: how many charges of the current
-- renewal have failed, and when the next one is due (Unix seconds; null = at period end).
alter table billing_subscription add column renewal_attempts bigint not null default 0;
alter table billing_subscription add column next_renewal_at bigint;
