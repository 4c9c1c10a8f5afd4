-- The billing cycle anchor of a subscription (Unix seconds): month arithmetic keeps its day of
-- month (Jan 31 -> Feb 28 -> Mar 31). Null means current_period_start of the first period.
alter table billing_subscription add column billing_anchor bigint;
