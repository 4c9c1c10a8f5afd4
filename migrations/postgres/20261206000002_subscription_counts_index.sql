-- Subscriber statistics (GET /api/v1/admin/billing/stats, /admin) count subscriptions per plan,
-- status and cancel_at_period_end: one index holds all three, so the count reads the index only
-- (issue 15: < 50 ms over 100,000 subscriptions). It replaces the (plan_id, status) index, which
-- is its prefix.
drop index billing_subscription_plan_status_idx;
create index billing_subscription_plan_status_cancel_idx
    on billing_subscription (plan_id, status, cancel_at_period_end);
