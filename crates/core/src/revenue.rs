//! Revenue movements (issue 14.6): every change of an account's MRR is recorded as a movement —
//! `new`, `expansion`, `contraction`, `churn` or `reactivation` — with its amount, so the admin
//! dashboard can draw MRR month by month and say what moved it.
//!
//! The rule is a comparison, not a list of events: after every write of a subscription,
//! [`sync`] computes the account's MRR now (DESIGN.md "MRR": the plan price of an `active` or
//! `past_due` subscription normalised to a month; trials and pauses pay nothing) and compares it
//! with the MRR after the account's last movement. A rise from zero is `new` (or `reactivation`
//! when the account paid before), a fall to zero `churn`, otherwise `expansion` or
//! `contraction`. A move to another currency is a churn in the old one and a new in the other.
//! The sum of the amounts of one currency is its MRR, at any moment.

use crate::Result;
use crate::stats::mrr_minor;
use crate::store::revenue::{self as store, NewMovement};
use crate::store::{Store, WriteTx};
use std::collections::BTreeMap;
use tariff_model::Currency;
use tariff_model::admin::{CurrencyMrrSeries, MrrMonth, MrrSeries};
use tariff_model::money::decimal_from_minor;

/// The largest `months` the MRR series answers.
pub const MAX_MONTHS: i64 = 60;

/// Records the movement of the account's MRR at `now`, if it changed since its last movement.
/// Called inside the transaction of every subscription write.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn sync(tx: &mut WriteTx, account_id: &str, now: i64) -> Result<()> {
    let paying = store::paying_plan(tx, account_id).await?;
    let last = store::last(tx, account_id).await?;
    let (mut seq, last_currency, mut before) = match &last {
        Some((seq, currency, mrr)) => (*seq, Some(currency.clone()), *mrr),
        None => (0, None, 0),
    };
    let (currency, after) = match &paying {
        Some(p) => (p.currency.clone(), mrr_minor(p.price_minor, p.interval, 1)),
        None => (last_currency.clone().unwrap_or_else(|| Currency::Rub.code().to_owned()), 0),
    };
    let subscription_id = paying.as_ref().map(|p| p.subscription_id.as_str());
    let plan_id = paying.as_ref().map(|p| p.plan_id.as_str());
    if let Some(old) = last_currency.as_deref()
        && old != currency
        && before > 0
    {
        seq += 1;
        let churn = NewMovement {
            account_id,
            seq,
            subscription_id: None,
            plan_id: None,
            kind: "churn",
            currency: old,
            mrr_before: before,
            mrr_after: 0,
            created_at: now,
        };
        store::insert(tx, &churn).await?;
        before = 0;
    }
    if before == after {
        return Ok(());
    }
    let kind = if before == 0 {
        if last.is_some() { "reactivation" } else { "new" }
    } else if after == 0 {
        "churn"
    } else if after > before {
        "expansion"
    } else {
        "contraction"
    };
    let movement = NewMovement {
        account_id,
        seq: seq + 1,
        subscription_id,
        plan_id,
        kind,
        currency: &currency,
        mrr_before: before,
        mrr_after: after,
        created_at: now,
    };
    store::insert(tx, &movement).await?;
    Ok(())
}

/// Once, when no movement was ever recorded (a database from before movements existed): a `new`
/// movement for every paying subscription, dated when it was created. Returns how many.
///
/// # Errors
/// [`crate::Error::Database`].
pub async fn backfill(db: &Store) -> Result<usize> {
    if store::any(db.reader()).await? {
        return Ok(0);
    }
    let accounts = store::paying_accounts(db.reader()).await?;
    let mut tx = db.begin_write().await?;
    for (account_id, created_at) in &accounts {
        sync(&mut tx, account_id, *created_at).await?;
    }
    tx.commit().await?;
    Ok(accounts.len())
}

/// The first second (UTC) of the month containing `t`, and of the `k`-th month after it.
fn month_start(t: i64, k: i64) -> i64 {
    let Ok(moment) = time::OffsetDateTime::from_unix_timestamp(t) else {
        return t;
    };
    let index = i64::from(moment.year()) * 12 + i64::from(u8::from(moment.month())) - 1 + k;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
    let month = time::Month::try_from(month as u8).unwrap_or(time::Month::January);
    time::Date::from_calendar_date(year as i32, month, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .unwrap_or(t)
}

fn month_label(start: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(start) {
        Ok(m) => format!("{:04}-{:02}", m.year(), u8::from(m.month())),
        Err(_) => String::new(),
    }
}

/// MRR month by month, the last `months` calendar months (UTC) up to the one containing `now`,
/// per currency that had MRR: MRR at each month's end (now for the current month) and the month's
/// movements by kind.
///
/// # Errors
/// [`crate::Error::Validation`] for `months` outside 1 to [`MAX_MONTHS`]; [`crate::Error::Database`].
pub async fn series(db: &Store, now: i64, months: i64) -> Result<MrrSeries> {
    if !(1..=MAX_MONTHS).contains(&months) {
        return Err(crate::Error::invalid("months", tariff_model::Message::MonthsRange { max: MAX_MONTHS }));
    }
    let first = month_start(now, -(months - 1));
    let starts: Vec<i64> = (0..=months).map(|k| month_start(first, k)).collect();
    let opening: BTreeMap<String, i64> = store::mrr_before(db.reader(), first).await?.into_iter().collect();
    // Up to the end of time: a movement is stamped with its subscription's `updated_at`, which
    // runs a few seconds ahead of `now` when several writes share one second; it is this month's.
    let rows = store::sums_in(db.reader(), first, i64::MAX).await?;
    let mut currencies: BTreeMap<String, Vec<[i64; 5]>> =
        opening.keys().map(|c| (c.clone(), vec![[0; 5]; months as usize])).collect();
    for (currency, kind, at, amount) in rows {
        let slot = starts.windows(2).position(|w| at >= w[0] && at < w[1]).unwrap_or(months as usize - 1);
        let index = match kind.as_str() {
            "new" => 0,
            "expansion" => 1,
            "contraction" => 2,
            "churn" => 3,
            _ => 4,
        };
        currencies.entry(currency).or_insert_with(|| vec![[0; 5]; months as usize])[slot][index] += amount;
    }
    let mut out = Vec::new();
    for (code, sums) in currencies {
        let Ok(currency) = code.parse::<Currency>() else { continue };
        let mut mrr = opening.get(&code).copied().unwrap_or(0);
        let points = sums
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let net: i64 = s.iter().sum();
                mrr += net;
                MrrMonth {
                    month: month_label(starts[i]),
                    start: starts[i],
                    end: starts[i + 1],
                    mrr: decimal_from_minor(mrr),
                    mrr_minor: mrr,
                    new_minor: s[0],
                    expansion_minor: s[1],
                    contraction_minor: s[2],
                    churn_minor: s[3],
                    reactivation_minor: s[4],
                    net_minor: net,
                }
            })
            .collect();
        out.push(CurrencyMrrSeries { currency, points });
    }
    Ok(MrrSeries { months, currencies: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_starts_step_over_year_ends() {
        // 2026-12-15 → 2026-12-01, 2027-01-01, and eleven months back 2026-01-01.
        let t = 1_797_292_800; // 2026-12-15T00:00:00Z
        assert_eq!(month_label(month_start(t, 0)), "2026-12");
        assert_eq!(month_label(month_start(t, 1)), "2027-01");
        assert_eq!(month_label(month_start(t, -11)), "2026-01");
        assert_eq!(month_start(month_start(t, 0), 0), month_start(t, 0));
    }
}
