//! Billing period arithmetic (DESIGN.md "Time"): periods are counted from a subscription's
//! anchor. Months clamp to the month's last day and keep the anchor's day afterwards
//! (Jan 31 → Feb 28/29 → Mar 31); a year is twelve months (Feb 29 → Feb 28). All times are Unix
//! seconds in UTC; calendar work is done by the `time` crate.

use tariff_model::Interval;
use time::{Month, OffsetDateTime, util::days_in_month};

const DAY: i64 = 86_400;

/// `anchor` plus `n` intervals (n ≥ 0), in Unix seconds; saturates rather than overflows.
pub fn add_intervals(anchor: i64, interval: Interval, n: i64) -> i64 {
    match interval {
        Interval::Day => anchor.saturating_add(n.saturating_mul(DAY)),
        Interval::Week => anchor.saturating_add(n.saturating_mul(7 * DAY)),
        Interval::Month => add_months(anchor, n),
        Interval::Year => add_months(anchor, n.saturating_mul(12)),
    }
}

fn add_months(anchor: i64, months: i64) -> i64 {
    let Ok(start) = OffsetDateTime::from_unix_timestamp(anchor) else {
        return anchor.saturating_add(months.saturating_mul(30 * DAY));
    };
    let month_index = (i64::from(start.year()) * 12 + i64::from(u8::from(start.month())) - 1).saturating_add(months);
    let year = month_index.div_euclid(12) as i32;
    let Ok(month) = Month::try_from((month_index.rem_euclid(12) + 1) as u8) else {
        return anchor.saturating_add(months.saturating_mul(30 * DAY));
    };
    let day = start.day().min(days_in_month(month, year));
    match time::Date::from_calendar_date(year, month, day) {
        Ok(date) => date.with_time(start.time()).assume_utc().unix_timestamp(),
        Err(_) => anchor.saturating_add(months.saturating_mul(30 * DAY)),
    }
}

/// The period `[start, end)` counted from `anchor` that contains `now`; the first period when
/// `now` is before the anchor.
pub fn period_containing(anchor: i64, interval: Interval, now: i64) -> (i64, i64) {
    if now < anchor {
        return (anchor, add_intervals(anchor, interval, 1));
    }
    // Every interval is at most 366 days and at least one day: start from a lower bound of the
    // number of whole intervals and step forward.
    let longest = match interval {
        Interval::Day => DAY,
        Interval::Week => 7 * DAY,
        Interval::Month => 31 * DAY,
        Interval::Year => 366 * DAY,
    };
    let mut k = (now - anchor) / longest;
    while add_intervals(anchor, interval, k + 1) <= now {
        k += 1;
    }
    (add_intervals(anchor, interval, k), add_intervals(anchor, interval, k + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ts(dt: OffsetDateTime) -> i64 {
        dt.unix_timestamp()
    }

    #[test]
    fn months_clamp_to_the_last_day_and_keep_the_anchor_day() {
        let jan31 = ts(datetime!(2026-01-31 10:00 UTC));
        assert_eq!(add_intervals(jan31, Interval::Month, 1), ts(datetime!(2026-02-28 10:00 UTC)));
        assert_eq!(add_intervals(jan31, Interval::Month, 2), ts(datetime!(2026-03-31 10:00 UTC)));
        assert_eq!(add_intervals(jan31, Interval::Month, 3), ts(datetime!(2026-04-30 10:00 UTC)));
        let leap = ts(datetime!(2028-01-31 00:00 UTC));
        assert_eq!(add_intervals(leap, Interval::Month, 1), ts(datetime!(2028-02-29 00:00 UTC)));
        let dec15 = ts(datetime!(2026-12-15 00:00 UTC));
        assert_eq!(add_intervals(dec15, Interval::Month, 1), ts(datetime!(2027-01-15 00:00 UTC)));
    }

    #[test]
    fn years_and_short_intervals() {
        let feb29 = ts(datetime!(2028-02-29 12:00 UTC));
        assert_eq!(add_intervals(feb29, Interval::Year, 1), ts(datetime!(2029-02-28 12:00 UTC)));
        assert_eq!(add_intervals(feb29, Interval::Year, 4), ts(datetime!(2032-02-29 12:00 UTC)));
        assert_eq!(add_intervals(0, Interval::Day, 3), 3 * DAY);
        assert_eq!(add_intervals(0, Interval::Week, 2), 14 * DAY);
    }

    #[test]
    fn the_period_containing_now_is_found_across_many_periods() {
        let anchor = ts(datetime!(2026-01-31 00:00 UTC));
        let now = ts(datetime!(2027-03-05 00:00 UTC));
        assert_eq!(
            period_containing(anchor, Interval::Month, now),
            (ts(datetime!(2027-02-28 00:00 UTC)), ts(datetime!(2027-03-31 00:00 UTC)))
        );
        let exactly_at_boundary = ts(datetime!(2026-02-28 00:00 UTC));
        assert_eq!(period_containing(anchor, Interval::Month, exactly_at_boundary).0, exactly_at_boundary);
        assert_eq!(
            period_containing(anchor, Interval::Month, anchor - 10),
            (anchor, ts(datetime!(2026-02-28 00:00 UTC)))
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn interval() -> impl Strategy<Value = Interval> {
            prop_oneof![Just(Interval::Day), Just(Interval::Week), Just(Interval::Month), Just(Interval::Year)]
        }

        // 1970 to 2200: every anchor and moment a subscription can have.
        const UNTIL: i64 = 7_258_118_400;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

            /// The period containing `now` contains it, starts on a period boundary at or after
            /// the anchor, and the next one starts where it ends.
            #[test]
            fn the_period_contains_now_and_periods_tile(
                anchor in 0i64..UNTIL, interval in interval(), offset in 0i64..(20 * 366 * 86_400)
            ) {
                let now = anchor + offset;
                let (start, end) = period_containing(anchor, interval, now);
                prop_assert!(start <= now && now < end, "{start} <= {now} < {end}");
                prop_assert!(start >= anchor);
                prop_assert_eq!(period_containing(anchor, interval, end).0, end);
                let length = end - start;
                let (shortest, longest) = match interval {
                    Interval::Day => (DAY, DAY),
                    Interval::Week => (7 * DAY, 7 * DAY),
                    Interval::Month => (28 * DAY, 31 * DAY),
                    Interval::Year => (365 * DAY, 366 * DAY),
                };
                prop_assert!((shortest..=longest).contains(&length), "{interval:?} period of {length} s");
            }

            /// Adding intervals moves strictly forward and keeps the time of day.
            #[test]
            fn adding_intervals_moves_forward(anchor in 0i64..UNTIL, interval in interval(), n in 0i64..2_400) {
                let later = add_intervals(anchor, interval, n + 1);
                prop_assert!(later > add_intervals(anchor, interval, n));
                prop_assert_eq!(later.rem_euclid(DAY), anchor.rem_euclid(DAY));
            }

            /// Any moment, however far off, gives a period or the first one; never a panic.
            #[test]
            fn any_moment_gives_a_period(anchor in 0i64..UNTIL, interval in interval(), now in -UNTIL..UNTIL * 2) {
                let (start, end) = period_containing(anchor, interval, now);
                prop_assert!(start < end);
            }
        }
    }
}
