//! SPEC §22 by brute force: `next_change` and `timeline` are exact to the microsecond.
//!
//! The oracle here shares nothing with the analysis in `exec/temporal.rs`: for a profile, a rule
//! and an `as_of`, it lists a *superset* of the instants at which the outcome can change — the
//! `at` of every event the rule names and every timestamp attribute it names, each of them ±
//! every duration written in the rule, ± 1 µs, the rule's fixed instants and effective dates, and
//! (when it reads the local calendar) every local day (or hour) change of the segment zone, also
//! ± those durations, found by stepping UTC in 15-minute steps and bisecting where the local date
//! (hour) differs. Between two consecutive candidates the outcome is constant, so the first
//! candidate whose outcome (from the public evaluator) differs from the outcome at `as_of` is the
//! next change. Each answer of `next_change` must equal it (instant, outcome, previous outcome),
//! the outcome 1 µs before it and at 20 random instants before it must be the outcome at `as_of`,
//! the horizon must be inclusive (asked with the horizon ending at the change, the same change;
//! 1 µs shorter, none), and for a subset of profiles `timeline` must list exactly the oracle's
//! changes over a span, with `to` exclusive. A cause must be `effective` exactly at an effective
//! date, and an `event` cause must name an event at the change.
//!
//! Rules: the demo registry (`cli/src/demo`, with its schema, through `Program::next_change`), a
//! small registry with `in_segment`, and single rules over every time construct of SPEC §9 and
//! §22, in UTC, America/New_York and Europe/Berlin. Profiles are generated from a fixed seed
//! with events and timestamps placed at window edges (`as_of − D`, ± 1 µs), local midnights,
//! the 2026 DST days of New York and Berlin, the leap day 2028-02-29 and month ends.
//! Each profile is asked about a quarter of the targets in turn (`STRIDE`), over a horizon of
//! 120 days (40 when every local midnight is a candidate, 4 when every local hour is), so that
//! the test stays within a minute in the dev profile. `TEMPORAL_BRUTE_PROFILES` sets the number
//! of profiles (default 10,000).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use jiff::civil::Date;
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;
use segcore::temporal::{Change, Timeline};
use segcore::{Bound, Definition, Error, EvalContext, FxRates, Outcome, Profile, Program, Registry, Schema, Segment};
use serde_json::{json, Value as Json};

const SEC: i64 = 1_000_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// The horizon of `next_change` questions; 40 days when a rule reads local dates (every local
/// midnight is a candidate), 4 days when it reads local hours.
const HORIZON: i64 = 120 * DAY;
const HORIZON_DAYS: i64 = 40 * DAY;
const HORIZON_HOURS: i64 = 4 * DAY;
/// The span of the timelines checked (at most the horizon).
const SPAN: i64 = 30 * DAY;
/// Each profile is asked about one target in this many (in turn), to stay within a minute.
const STRIDE: usize = 4;
/// One profile in this many also has its timelines checked.
const TIMELINE_EVERY: usize = 10;
/// Random instants checked before each change (or over the horizon when there is none).
const SAMPLES: usize = 20;
/// Window lengths data is placed around (every `within D` and `as_of − D` of the rules below).
const DURS: [i64; 9] = [HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 90 * DAY, 365 * DAY];
const ZONES: [&str; 3] = ["UTC", "America/New_York", "Europe/Berlin"];
const FX: &str = r#"{"EUR/USD": "1.0842", "USD/EUR": "0.9223"}"#;

mod common;
use common::Rng;

/// Rounds `t` down to a whole second, minute or hour now and then: round instants meet.
fn grain(rng: &mut Rng, t: i64) -> i64 {
    let g = *rng.pick(&[1, 1, SEC, MIN, HOUR]);
    t - t.rem_euclid(g)
}

fn ts(text: &str) -> i64 {
    text.parse::<Timestamp>().unwrap_or_else(|e| panic!("{text}: {e}")).as_microsecond()
}

fn show(t: i64) -> String {
    Timestamp::from_microsecond(t).map_or_else(|_| format!("{t}µs"), |x| x.to_string())
}

// ---------------------------------------------------------------------------------------------
// Local calendars, found by stepping and bisecting (independent of segcore's own conversions).

/// The instants at which the local date, and the local (date, hour), change in one zone.
struct Zone {
    name: &'static str,
    days: Vec<i64>,
    hours: Vec<i64>,
}

fn local(tz: &TimeZone, t: i64) -> (Date, i8) {
    let dt = tz.to_datetime(Timestamp::from_microsecond(t).unwrap());
    (dt.date(), dt.hour())
}

impl Zone {
    fn build(name: &'static str) -> Zone {
        let tz = TimeZone::get(name).unwrap();
        let (from, to) = (ts("2024-06-01T00:00:00Z"), ts("2029-12-01T00:00:00Z"));
        let (mut days, mut hours) = (Vec::new(), Vec::new());
        let mut t = from;
        let mut prev = local(&tz, t);
        while t < to {
            let next = t + 15 * MIN;
            let cur = local(&tz, next);
            if cur != prev {
                // The least instant in (t, next] whose local (date, hour) differs from `prev`.
                let at = if local(&tz, next - 1) == prev {
                    next
                } else {
                    let (mut lo, mut hi) = (t, next);
                    while hi - lo > 1 {
                        let mid = lo + (hi - lo) / 2;
                        if local(&tz, mid) == prev {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                    hi
                };
                assert_eq!(local(&tz, at), cur, "{name}: two local changes within 15 minutes at {}", show(at));
                hours.push(at);
                if cur.0 != prev.0 {
                    days.push(at);
                }
            }
            prev = cur;
            t = next;
        }
        Zone { name, days, hours }
    }
}

fn zone<'z>(zones: &'z [Zone], name: &str) -> &'z Zone {
    zones.iter().find(|z| z.name == name).unwrap()
}

fn between(table: &[i64], lo: i64, hi: i64) -> &[i64] {
    let a = table.partition_point(|&t| t <= lo);
    let b = table.partition_point(|&t| t <= hi);
    &table[a..b]
}

// ---------------------------------------------------------------------------------------------
// Rules, each with what the oracle needs to know about it.

/// A single rule: its zone, effective dates, and the instants its literals name (resolved here
/// by hand to UTC from the local literals of the rule: part of what is checked).
struct Spec {
    id: &'static str,
    tz: &'static str,
    rule: &'static str,
    fixed: Vec<&'static str>,
    from: Option<&'static str>,
    until: Option<&'static str>,
}

impl Spec {
    fn new(id: &'static str, tz: &'static str, rule: &'static str) -> Spec {
        Spec { id, tz, rule, fixed: vec![], from: None, until: None }
    }
    fn fixed(mut self, fixed: &[&'static str]) -> Spec {
        self.fixed = fixed.to_vec();
        self
    }
    fn effective(mut self, from: Option<&'static str>, until: Option<&'static str>) -> Spec {
        self.from = from;
        self.until = until;
        self
    }
    fn definition(&self) -> Definition {
        let mut d = Definition::new(self.id, "1.0.0", self.rule);
        d.timezone = self.tz.to_string();
        d.effective_from = self.from.map(ts);
        d.effective_until = self.until.map(ts);
        d
    }
}

const NY: &str = "America/New_York";
const BERLIN: &str = "Europe/Berlin";
const UTC: &str = "UTC";

fn single_rules() -> Vec<Spec> {
    vec![
        // `within D` over aggregates and attributes.
        Spec::new("login_14d", UTC, "exists(login within 14d)"),
        Spec::new("purchases_30d", NY, "count(purchase within 30d) >= 2"),
        Spec::new("visit_12h", BERLIN, "count(visit within 12h) >= 1"),
        Spec::new("order_sum_7d", UTC, "sum(order.total within 7d) >= 100"),
        Spec::new("money_90d", BERLIN, "sum(purchase.amount within 90d) > 300 USD"),
        Spec::new("first_at_30d", NY, "first(purchase).at within 30d"),
        Spec::new("last_at_2d", BERLIN, "last(visit).at within 2d"),
        Spec::new("signup_7d", NY, "signup_at within 7d"),
        Spec::new("consent_90d", BERLIN, "consent.marketing = true and consent.updated_at within 90d"),
        Spec::new("churn", UTC, "churn_score >= 0.8 and not exists(login within 14d)"),
        Spec::new("visits_or_signup", NY, "count(visit within 30d) >= 3 or signup_at within 12h"),
        Spec::new("purchase_30d_not_7d", NY, "count(purchase within 30d) >= 2 and not exists(purchase within 7d)"),
        Spec::new("avg_order_14d", BERLIN, "avg(order.total within 14d) >= 60"),
        Spec::new("min_order_7d", NY, "min(order.total within 7d) < 20"),
        Spec::new("devices_30d", UTC, "distinct_count(login.device within 30d) >= 2"),
        Spec::new("first_visit_window", BERLIN, "first(visit within 7d).at before as_of - 3d"),
        // Calendar windows.
        Spec::new("visit_today", NY, "exists(visit within today)"),
        Spec::new("visit_yesterday", BERLIN, "exists(visit within yesterday)"),
        Spec::new("logins_this_week", NY, "count(login within this_week) >= 2"),
        Spec::new("purchase_last_week", BERLIN, "exists(purchase within last_week)"),
        Spec::new("order_this_month", BERLIN, "exists(order within this_month)"),
        Spec::new("purchase_last_month", NY, "count(purchase within last_month) >= 1"),
        Spec::new("signup_this_month", UTC, "signup_at within this_month"),
        Spec::new("signup_yesterday", NY, "signup_at within yesterday"),
        Spec::new("last_purchase_this_week", NY, "last(purchase).at within this_week"),
        Spec::new("visit_yesterday_filter", NY, "count(visit where (at within yesterday)) >= 1"),
        Spec::new("signup_30d_this_month", UTC, "timestamp(signup_at) + 30d within this_month"),
        // as_of-derived instants in calendar windows: `as_of + 2h` is never in `today` (§9: no future).
        Spec::new("noon_yesterday", BERLIN, "as_of - 12h within yesterday"),
        Spec::new("future_today", UTC, "as_of + 2h within today"),
        Spec::new("last_week_shifted", NY, "as_of - 36h within last_week"),
        // Calendar functions of as_of.
        Spec::new("days_since_30", BERLIN, "days_since(signup_at) >= 30"),
        Spec::new("days_since_between", UTC, "days_since(consent.updated_at) between 1 and 3"),
        Spec::new("days_since_last_login", BERLIN, "days_since(last(login).at) >= 7"),
        Spec::new("signup_day", NY, "date(as_of) = date(timestamp(signup_at))"),
        Spec::new("signup_weekday", BERLIN, "day_of_week(timestamp(signup_at)) = day_of_week(as_of)"),
        Spec::new("late_evening", NY, "hour(as_of - 90m) = 23"),
        Spec::new("half_past_midnight", NY, "hour(as_of + 30m) = 0"),
        Spec::new("days_since_shifted", BERLIN, "days_since(as_of - 6h) = 1"),
        Spec::new("office_hours", NY, "hour(as_of) >= 9 and hour(as_of) < 17 and exists(visit within 2d)"),
        Spec::new("night_vip", BERLIN, "hour(as_of) in [1, 2, 3] and vip"),
        Spec::new("weekend", NY, "day_of_week(as_of) in [6, 7]"),
        Spec::new("monday_login", BERLIN, "day_of_week(as_of) = 1 and count(login within 7d) >= 1"),
        Spec::new("date_from_dst", NY, r#"date(as_of) >= date("2026-03-08")"#).fixed(&["2026-03-08T05:00:00Z"]),
        Spec::new("date_before_leap", UTC, r#"date(as_of) < date("2028-02-29") or exists(order within 1d)"#)
            .fixed(&["2028-02-29T00:00:00Z"]),
        Spec::new("month_start", BERLIN, "start_of_month(as_of) > signup_at"),
        Spec::new("week_start", NY, "start_of_week(as_of) <= first(login).at"),
        // as_of-relative instants and durations.
        Spec::new("signup_before_30d", UTC, "signup_at < as_of - 30d"),
        Spec::new("signup_after_7d", BERLIN, "signup_at > as_of + 7d"),
        Spec::new("age_90d", BERLIN, "as_of - timestamp(signup_at) > 90d"),
        Spec::new("since_last_purchase", NY, "as_of - last(purchase).at <= 3d"),
        // Local literals: 2026-03-08 00:00 EST; 01:30 on 2026-11-01 occurs twice, the earlier is EDT.
        Spec::new("between_ny", NY, r#"as_of between timestamp("2026-03-08") and timestamp("2026-11-01T01:30:00")"#)
            .fixed(&["2026-03-08T05:00:00Z", "2026-11-01T05:30:00Z"]),
        // 02:30 on 2026-03-29 is in the gap (→ 03:30 CEST); on 2026-10-25 it occurs twice (→ CEST).
        Spec::new(
            "between_berlin",
            BERLIN,
            r#"as_of between timestamp("2026-03-29T02:30:00") and timestamp("2026-10-25T02:30:00")"#,
        )
        .fixed(&["2026-03-29T01:30:00Z", "2026-10-25T00:30:00Z"]),
        // Filters reading as_of.
        Spec::new("visits_2d_filter", UTC, "count(visit where at > as_of - 2d) >= 2"),
        Spec::new("big_order_2d", BERLIN, "exists(order where total >= 50 and at > as_of - 2d within 30d)"),
        Spec::new("visit_1h_filter", NY, "count(visit where (at within 1h)) >= 1"),
        Spec::new("visit_since_midnight", BERLIN, "count(visit where at >= start_of_day(as_of)) >= 1"),
        // Effective dates (the 2026 DST instants of New York; the leap day in Berlin).
        Spec::new("effective_ny", NY, "exists(purchase within 30d)")
            .effective(Some("2026-03-08T07:00:00Z"), Some("2026-11-01T06:00:00Z")),
        Spec::new("effective_berlin", BERLIN, "days_since(signup_at) < 3")
            .effective(Some("2028-02-28T23:00:00Z"), Some("2028-03-31T22:00:00Z")),
        Spec::new("effective_until_utc", UTC, "count(login within 7d) >= 1 or vip")
            .effective(None, Some("2027-01-01T00:00:00Z")),
    ]
}

/// A small registry with references.
fn small_registry() -> Vec<Definition> {
    [
        Spec::new("recent", NY, "exists(visit within 7d)").effective(None, Some("2026-11-01T06:00:00Z")),
        Spec::new("buyer", BERLIN, "count(purchase within 30d) >= 1"),
        Spec::new("engaged", UTC, r#"in_segment("recent") and not in_segment("buyer")"#),
        Spec::new("daily", NY, r#"in_segment("engaged") or days_since(signup_at) < 2"#)
            .effective(Some("2026-03-08T07:00:00Z"), None),
    ]
    .iter()
    .map(Spec::definition)
    .collect()
}

/// What can move the outcome of a set of segments (a target and what it references), read from
/// the rule texts by plain scanning: the durations written in them (`30d`, `12h`), the event
/// names and timestamp attributes they mention, whether they read the local date (calendar
/// windows and functions) or hour, and the effective dates; plus the fixed instants given.
struct Resolved<'z> {
    durs: Vec<i64>,
    events: Vec<&'static str>,
    attrs: Vec<&'static str>,
    tables: Vec<&'z [i64]>,
    fixed: Vec<i64>,
    /// How far ahead `next_change` is asked: shorter when every local midnight or hour is a
    /// candidate, to keep the brute force affordable.
    horizon: i64,
}

const EVENT_NAMES: [&str; 4] = ["purchase", "order", "login", "visit"];
/// Timestamp attributes of the generated profiles: (path, a word that names it in a rule).
const TIME_ATTRS: [(&str, &str); 2] = [("signup_at", "signup_at"), ("consent.updated_at", "updated_at")];
const DAY_WORDS: [&str; 11] = [
    "today",
    "yesterday",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "days_since(",
    "date(",
    "day_of_week(",
    "start_of_",
    "hour(",
];

/// Every duration literal in a rule text (`30d`, `12h`, …).
fn durations(text: &str) -> Vec<i64> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let unit = match b.get(j) {
            Some(b'w') => 7 * DAY,
            Some(b'd') => DAY,
            Some(b'h') => HOUR,
            Some(b'm') => MIN,
            Some(b's') => SEC,
            _ => 0,
        };
        let alone = b.get(j + 1).is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_'));
        if unit > 0 && alone {
            out.push(text[i..j].parse::<i64>().unwrap() * unit);
        }
        i = j;
    }
    out
}

fn resolve<'z>(segments: &[&Segment], fixed: &[&str], zones: &'z [Zone]) -> Resolved<'z> {
    let mut r = Resolved {
        durs: vec![],
        events: vec![],
        attrs: vec![],
        tables: vec![],
        fixed: fixed.iter().map(|t| ts(t)).collect(),
        horizon: HORIZON,
    };
    for seg in segments {
        let def = seg.definition();
        let text = def.rule.as_str();
        r.durs.extend(durations(text));
        r.events.extend(EVENT_NAMES.iter().filter(|e| text.contains(*e)));
        r.attrs.extend(TIME_ATTRS.iter().filter(|(_, word)| text.contains(word)).map(|(path, _)| *path));
        r.fixed.extend(def.effective_from.iter().chain(&def.effective_until));
        let z = zone(zones, &def.timezone);
        // The local hour changes include every local date change.
        if text.contains("hour(") {
            r.tables.push(&z.hours);
            r.horizon = r.horizon.min(HORIZON_HOURS);
        } else if DAY_WORDS.iter().any(|w| text.contains(w)) {
            r.tables.push(&z.days);
            r.horizon = r.horizon.min(HORIZON_DAYS);
        }
    }
    r.durs.sort_unstable();
    r.durs.dedup();
    r
}

// ---------------------------------------------------------------------------------------------
// Generated profiles.

/// One generated profile: its JSON, the loaded profile, its `as_of`, and every instant written
/// into it (the oracle reads these, not the profile).
struct Data {
    index: usize,
    json: Json,
    profile: Profile,
    as_of: i64,
    /// (name, at) of every event.
    events: Vec<(&'static str, i64)>,
    /// (path, instant) of every timestamp attribute that holds one.
    attrs: Vec<(&'static str, i64)>,
}

struct Env {
    anchors: Vec<i64>,
    zones: Vec<Zone>,
}

fn anchors() -> Vec<i64> {
    [
        // DST: New York 2026-03-08 02:00 EST → EDT, 2026-11-01 02:00 EDT → EST (and 2027).
        "2026-03-08T07:00:00Z",
        "2026-11-01T06:00:00Z",
        "2027-03-14T07:00:00Z",
        "2027-11-07T06:00:00Z",
        // DST: Berlin 2026-03-29 and 2026-10-25 at 01:00Z (and 2027).
        "2026-03-29T01:00:00Z",
        "2026-10-25T01:00:00Z",
        "2027-03-28T01:00:00Z",
        "2027-10-31T01:00:00Z",
        // Local midnights of the DST days.
        "2026-03-08T05:00:00Z",
        "2026-11-01T04:00:00Z",
        "2026-03-28T23:00:00Z",
        "2026-10-24T22:00:00Z",
        // The leap day 2028-02-29 in each zone, and the day after.
        "2028-02-29T00:00:00Z",
        "2028-02-29T05:00:00Z",
        "2028-02-28T23:00:00Z",
        "2028-03-01T00:00:00Z",
        "2028-03-01T05:00:00Z",
        // Month and year ends.
        "2026-01-31T23:59:59.999999Z",
        "2026-02-28T23:00:00Z",
        "2026-03-01T05:00:00Z",
        "2026-04-30T22:00:00Z",
        "2026-05-01T04:00:00Z",
        "2026-12-31T23:00:00Z",
        "2027-01-01T00:00:00Z",
        "2027-01-01T05:00:00Z",
        "2027-02-28T23:59:59Z",
        // The rules' fixed instants and effective dates.
        "2026-11-01T05:30:00Z",
        "2026-03-29T01:30:00Z",
        "2026-10-25T00:30:00Z",
        "2028-03-31T22:00:00Z",
    ]
    .iter()
    .map(|t| ts(t))
    .collect()
}

fn fmt_instant(rng: &mut Rng, t: i64) -> String {
    let x = Timestamp::from_microsecond(t).unwrap();
    if rng.chance(70) {
        x.to_string()
    } else {
        let secs = *rng.pick(&[-5 * 3600, -4 * 3600, 3600, 2 * 3600, 5 * 3600 + 1800]);
        x.display_with_offset(Offset::from_seconds(secs).unwrap()).to_string()
    }
}

/// An instant near something that matters for `as_of`: a window edge `as_of − D` (± 1 µs),
/// `as_of` itself, a local midnight, an anchor (DST, leap day, month end), or anywhere.
fn instant(rng: &mut Rng, env: &Env, as_of: i64, anchor: i64) -> i64 {
    let fuzz = *rng.pick(&[-1, 0, 1]);
    match rng.below(16) {
        0..=2 => as_of - *rng.pick(&DURS) + fuzz,
        3 => as_of - *rng.pick(&DURS) + rng.range(-2 * HOUR, 2 * HOUR),
        4 => as_of + fuzz,
        5 | 6 => {
            let horizon = *rng.pick(&[HORIZON, HORIZON_DAYS, HORIZON_HOURS]);
            let ahead = rng.range(1, horizon);
            as_of + grain(rng, ahead)
        }
        7 => anchor + fuzz,
        8 => anchor - *rng.pick(&DURS) + fuzz,
        9 | 10 => {
            let z = rng.pick(&env.zones);
            let near = between(&z.days, as_of - 3 * DAY, as_of + HORIZON);
            if near.is_empty() {
                as_of
            } else {
                *rng.pick(near) + fuzz
            }
        }
        11 => {
            let back = rng.range(0, 40 * DAY);
            as_of - grain(rng, back)
        }
        _ => {
            let t = rng.range(as_of - 400 * DAY, as_of + HORIZON);
            grain(rng, t)
        }
    }
}

fn generate(index: usize, env: &Env) -> Data {
    let mut rng = Rng(0x7E4D_0BA1_2026_0308 ^ (index as u64).wrapping_mul(0xD134_2543_DE82_EF95));
    let anchor = *rng.pick(&env.anchors);
    let as_of = match rng.below(10) {
        0..=3 => {
            let horizon = *rng.pick(&[HORIZON, HORIZON_DAYS, HORIZON_HOURS]);
            anchor - rng.range(0, horizon)
        }
        4 | 5 => anchor + *rng.pick(&[0, -1, 1, -HOUR, HOUR, -DAY, DAY, -7 * DAY, -30 * DAY]),
        6 => anchor - *rng.pick(&DURS) + *rng.pick(&[-1, 0, 1]),
        _ => {
            let t = rng.range(ts("2025-06-01T00:00:00Z"), ts("2028-12-01T00:00:00Z"));
            grain(&mut rng, t)
        }
    };
    let (mut events, mut attrs) = (Vec::new(), Vec::new());
    let n = match rng.below(100) {
        0..=9 => 0,
        10..=59 => 1 + rng.below(4),
        60..=84 => 5 + rng.below(16),
        85..=96 => 21 + rng.below(60),
        _ => 100 + rng.below(101),
    };
    let mut event_json = Vec::new();
    for _ in 0..n {
        let at = match events.last() {
            Some(&(_, prev)) if rng.chance(10) => prev,
            _ => instant(&mut rng, env, as_of, anchor),
        };
        let name = *rng.pick(&EVENT_NAMES);
        events.push((name, at));
        let props = match name {
            "purchase" => {
                let cents = rng.below(40_000);
                let currency = *rng.pick(&["USD", "EUR"]);
                json!({"amount": {"amount": format!("{}.{:02}", cents / 100, cents % 100), "currency": currency}})
            }
            "order" => json!({"total": rng.below(120)}),
            "login" => json!({"device": *rng.pick(&["ios", "web"])}),
            _ => json!({"path": *rng.pick(&["/", "/pricing"])}),
        };
        event_json.push(json!({"name": name, "at": fmt_instant(&mut rng, at), "properties": props}));
    }
    let mut a = serde_json::Map::new();
    match rng.below(20) {
        0 => {}
        1 => {
            a.insert("signup_at".into(), Json::Null);
        }
        2 => {
            a.insert("signup_at".into(), "2026-03-01".into()); // no offset: not an instant
        }
        _ => {
            let t = instant(&mut rng, env, as_of, anchor);
            attrs.push(("signup_at", t));
            a.insert("signup_at".into(), fmt_instant(&mut rng, t).into());
        }
    }
    if rng.chance(80) {
        let mut consent = serde_json::Map::new();
        consent.insert("marketing".into(), (!rng.chance(20)).into());
        if rng.chance(90) {
            let t = instant(&mut rng, env, as_of, anchor);
            attrs.push(("consent.updated_at", t));
            consent.insert("updated_at".into(), fmt_instant(&mut rng, t).into());
        }
        a.insert("consent".into(), consent.into());
    }
    if rng.chance(85) {
        a.insert("churn_score".into(), json!(*rng.pick(&[0.5, 0.79, 0.8, 0.95])));
    }
    if rng.chance(85) {
        a.insert("vip".into(), rng.chance(50).into());
    }
    a.insert("country".into(), (*rng.pick(&["US", "CA", "GB", "DE", "FR", "JP"])).into());
    a.insert("age".into(), json!(rng.below(80)));
    a.insert("plan".into(), (*rng.pick(&["pro", "free"])).into());
    a.insert("ltv".into(), json!(rng.below(1000)));
    a.insert("embedding".into(), json!([0.12, 0.80, 0.35, *rng.pick(&[0.46, -0.4])]));
    a.insert("app_version".into(), (*rng.pick(&["2.3.0", "2.2.9", "2.3.0-beta.1", "3.0.0"])).into());
    let json = json!({"id": format!("u{index}"), "attributes": a, "events": event_json});
    let profile = Profile::from_json(&json).unwrap();
    Data { index, json, profile, as_of, events, attrs }
}

// ---------------------------------------------------------------------------------------------
// The oracle.

/// Every instant in `(lo, hi]` at which the outcome may change (a superset).
fn candidates(d: &Data, r: &Resolved<'_>, lo: i64, hi: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let events = d.events.iter().filter(|(name, _)| r.events.contains(name));
    let attrs = d.attrs.iter().filter(|(path, _)| r.attrs.contains(path));
    let read = events.chain(attrs).map(|(_, t)| *t);
    for x in read.chain(r.fixed.iter().copied()) {
        for s in -1..=1 {
            out.push(x + s);
            for &len in &r.durs {
                out.push(x + len + s);
                out.push(x - len + s);
            }
        }
    }
    out.retain(|&t| t > lo && t <= hi);
    for table in &r.tables {
        out.extend_from_slice(between(table, lo, hi));
        // A local boundary seen through `as_of ± D` (`as_of - 12h within yesterday`).
        for &len in &r.durs {
            out.extend(between(table, lo - len, hi - len).iter().map(|m| m + len));
            out.extend(between(table, lo + len, hi + len).iter().map(|m| m - len));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// What is asked about: a lone segment, or a segment of a program.
enum Target<'a> {
    Lone(&'a Segment),
    Member { program: &'a Program, id: &'a str, index: usize, closure: BTreeSet<usize> },
}

impl Target<'_> {
    fn id(&self) -> &str {
        match self {
            Target::Lone(s) => s.id(),
            Target::Member { id, .. } => id,
        }
    }
    fn segment(&self) -> &Segment {
        match self {
            Target::Lone(s) => s,
            Target::Member { program, index, .. } => &program.segments()[*index],
        }
    }
}

struct Query<'a> {
    target: &'a Target<'a>,
    profile: &'a Profile,
    bound: Bound<'a>,
    cx: RefCell<EvalContext>,
    evaluations: std::cell::Cell<u64>,
}

type Answer = Result<Outcome, String>;

fn error_text(e: &Error) -> String {
    format!("error {}: {}", e.kind(), e)
}

impl<'a> Query<'a> {
    fn new(target: &'a Target<'a>, profile: &'a Profile, fx: &FxRates) -> Query<'a> {
        let bound = match target {
            Target::Lone(s) => s.bind(profile),
            Target::Member { program, .. } => program.bind(profile),
        };
        let cx = RefCell::new(EvalContext::new(0).with_fx(fx.clone()));
        Query { target, profile, bound, cx, evaluations: std::cell::Cell::new(0) }
    }

    /// The outcome at `t`, from the public evaluator.
    fn at(&self, t: i64) -> Answer {
        self.evaluations.set(self.evaluations.get() + 1);
        let mut cx = self.cx.borrow_mut();
        cx.as_of = t;
        match self.target {
            Target::Lone(s) => s.evaluate_bound(&self.bound, &cx).map_err(|e| error_text(&e)),
            Target::Member { program, index, closure, .. } => program
                .evaluate_bound(&self.bound, &cx, Some(closure))
                .map(|r| r[*index].expect("the target is evaluated"))
                .map_err(|e| error_text(&e)),
        }
    }

    fn next_change(&self, as_of: i64, horizon: i64) -> Result<Option<Change>, Error> {
        let cx = EvalContext { as_of, ..self.cx.borrow().clone() };
        match self.target {
            Target::Lone(s) => s.next_change(self.profile, &cx, Some(horizon)),
            Target::Member { program, id, .. } => program.next_change(id, self.profile, &cx, Some(horizon)),
        }
    }

    fn timeline(&self, from: i64, to: i64) -> Result<Timeline, Error> {
        let cx = EvalContext { as_of: from, ..self.cx.borrow().clone() };
        match self.target {
            Target::Lone(s) => s.timeline(self.profile, from, to, &cx),
            Target::Member { program, id, .. } => program.timeline(id, self.profile, from, to, &cx),
        }
    }
}

#[derive(Default)]
struct Tally {
    profiles: usize,
    pairs: usize,
    changes: usize,
    entered_or_exited: usize,
    timelines: usize,
    timeline_changes: usize,
    evaluations: u64,
    per_rule_changes: std::collections::BTreeMap<String, usize>,
    mismatches: Vec<(usize, String)>,
}

fn show_answer(a: &Answer) -> String {
    match a {
        Ok(o) => o.as_str().to_string(),
        Err(e) => e.clone(),
    }
}

fn show_change(c: &Option<(i64, Answer)>) -> String {
    match c {
        None => "none".into(),
        Some((t, o)) => format!("{} → {}", show(*t), show_answer(o)),
    }
}

fn mismatch(tally: &mut Tally, q: &Query<'_>, d: &Data, what: &str, as_of: i64, expected: String, got: String) {
    let seg = q.target.segment();
    let def = seg.definition();
    let mut profile = d.json.to_string();
    if profile.len() > 3000 {
        profile.truncate(3000);
        profile.push_str(" …");
    }
    tally.mismatches.push((
        d.index,
        format!(
            "[{what}] segment `{}` ({}{}{}): {}\n  as_of    {}\n  expected {expected}\n  got      {got}\n  profile  {profile}",
            q.target.id(),
            def.timezone,
            def.effective_from.map_or(String::new(), |t| format!(", effective_from {}", show(t))),
            def.effective_until.map_or(String::new(), |t| format!(", effective_until {}", show(t))),
            def.rule.trim(),
            show(as_of),
        ),
    ));
}

/// Random instants in `(lo, hi)`: uniform, and crowded at both ends.
fn samples(rng: &mut Rng, lo: i64, hi: i64) -> Vec<i64> {
    let mut out = Vec::new();
    if hi - lo < 2 {
        return out;
    }
    for k in 0..SAMPLES {
        let width = hi - lo - 1;
        let t = match k % 4 {
            0 => lo + 1 + rng.below(width.min(1_000) as u64) as i64,
            1 => hi - 1 - rng.below(width.min(1_000) as u64) as i64,
            2 => hi - 1 - rng.below(width.min(DAY) as u64) as i64,
            _ => lo + 1 + rng.below(width as u64) as i64,
        };
        out.push(t);
    }
    out
}

fn check_next(q: &Query<'_>, d: &Data, r: &Resolved<'_>, rng: &mut Rng, tally: &mut Tally) {
    let as_of = d.as_of;
    let start = q.at(as_of);
    let mut expected = None;
    for t in candidates(d, r, as_of, as_of + r.horizon) {
        let o = q.at(t);
        if o != start {
            expected = Some((t, o));
            break;
        }
    }
    let got = match q.next_change(as_of, r.horizon) {
        Ok(c) => c,
        Err(e) => {
            let expected = show_change(&expected);
            return mismatch(tally, q, d, "next_change failed", as_of, expected, error_text(&e));
        }
    };
    let got_pair = got.as_ref().map(|c| (c.at, Ok(c.outcome)));
    if got_pair != expected {
        let got_text = show_change(&got_pair);
        let cause = got.as_ref().map_or(String::new(), |c| format!(" (cause {})", c.cause.kind.as_str()));
        let exp = format!("{} (from {})", show_change(&expected), show_answer(&start));
        return mismatch(tally, q, d, "next_change", as_of, exp, got_text + &cause);
    }
    if let Some(c) = &got {
        tally.changes += 1;
        *tally.per_rule_changes.entry(q.target.id().to_string()).or_default() += 1;
        if c.transition().is_some() {
            tally.entered_or_exited += 1;
        }
        if Ok(c.previous) != start {
            let (e, g) = (show_answer(&start), c.previous.as_str().to_string());
            return mismatch(tally, q, d, "previous outcome", as_of, e, g);
        }
        let before = q.at(c.at - 1);
        if before != start {
            let (e, g) = (show_answer(&start), format!("{} at {}", show_answer(&before), show(c.at - 1)));
            return mismatch(tally, q, d, "outcome 1µs before the change", as_of, e, g);
        }
        if let Some(problem) = cause_problem(c, q.target.segment()) {
            return mismatch(tally, q, d, "cause", as_of, problem, format!("{:?}", c.cause));
        }
        // The horizon is inclusive: ending exactly at the change finds it, 1 µs earlier does not.
        let exact = q.next_change(as_of, c.at - as_of).map(|x| x.map(|x| (x.at, x.outcome)));
        let short =
            if c.at - as_of > 1 { q.next_change(as_of, c.at - as_of - 1).map(|x| x.map(|x| x.at)) } else { Ok(None) };
        if exact.as_ref().ok() != Some(&Some((c.at, c.outcome))) || short.as_ref().ok() != Some(&None) {
            let e = format!("{} with horizon = the change, none with 1µs less", show(c.at));
            let g = format!("{exact:?} and {short:?}");
            return mismatch(tally, q, d, "horizon boundary", as_of, e, g);
        }
    }
    let end = got.as_ref().map_or(as_of + r.horizon + 1, |c| c.at);
    for t in samples(rng, as_of, end) {
        let o = q.at(t);
        if o != start {
            let (e, g) = (show_answer(&start), format!("{} at {}", show_answer(&o), show(t)));
            return mismatch(tally, q, d, "outcome before the next change", as_of, e, g);
        }
    }
}

/// What SPEC §22 fixes about a cause without knowing the rule: an effective date is always
/// `effective`, and an `event` cause names an event whose `at` is the change.
fn cause_problem(c: &Change, seg: &Segment) -> Option<String> {
    let def = seg.definition();
    let effective = def.effective_from == Some(c.at) || def.effective_until == Some(c.at);
    match c.cause.kind.as_str() {
        "effective" if !effective => Some("`effective` only at an effective date".into()),
        k if k != "effective" && effective => Some("`effective` at an effective date".into()),
        "event" if c.cause.event.as_ref().map(|e| e.1) != Some(c.at) => {
            Some("an `event` cause names an event at the change".into())
        }
        _ => None,
    }
}

fn check_timeline(q: &Query<'_>, d: &Data, r: &Resolved<'_>, tally: &mut Tally) {
    let (from, to) = (d.as_of, d.as_of + SPAN.min(r.horizon));
    let start = q.at(from);
    let mut expected = Vec::new();
    let mut prev = start.clone();
    for t in candidates(d, r, from, to - 1) {
        let o = q.at(t);
        if o != prev {
            expected.push((t, prev.clone(), o.clone()));
            prev = o;
        }
    }
    tally.timelines += 1;
    let line = |v: &[(i64, Answer, Answer)]| {
        v.iter()
            .map(|(t, a, b)| format!("{} {}→{}", show(*t), show_answer(a), show_answer(b)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let exp = format!("from {}: [{}]", show_answer(&start), line(&expected));
    match q.timeline(from, to) {
        Err(e) => mismatch(tally, q, d, "timeline failed", from, exp, error_text(&e)),
        Ok(tl) => {
            let got: Vec<(i64, Answer, Answer)> =
                tl.changes.iter().map(|c| (c.at, Ok(c.previous), Ok(c.outcome))).collect();
            tally.timeline_changes += got.len();
            if Ok(tl.outcome) != start || got != expected || tl.from != from || tl.to != to {
                let g = format!("from {}: [{}]", tl.outcome.as_str(), line(&got));
                return mismatch(tally, q, d, "timeline", from, exp, g);
            }
            // `to` is exclusive: a timeline ending at the first change holds none; 1 µs later, that one.
            if let Some((first, _, _)) = expected.first() {
                let count =
                    |to: i64| q.timeline(from, to).map(|tl| tl.changes.iter().map(|c| c.at).collect::<Vec<_>>());
                let (before, after) = (count(*first), count(first + 1));
                if before.as_ref().ok() != Some(&vec![]) || after.as_ref().ok() != Some(&vec![*first]) {
                    let e = format!("[] up to {}, [{}] up to 1µs later", show(*first), show(*first));
                    mismatch(tally, q, d, "timeline end", from, e, format!("{before:?} and {after:?}"));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------

#[test]
fn next_change_and_timeline_are_exact() {
    let started = Instant::now();
    let profiles: usize = std::env::var("TEMPORAL_BRUTE_PROFILES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let fx = FxRates::from_json_str(FX).unwrap();

    let zones: Vec<Zone> = ZONES.iter().map(|z| Zone::build(z)).collect();
    // The oracle's calendars against instants known by hand.
    let known = [
        (NY, "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"),
        (NY, "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"),
        (BERLIN, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"),
        (BERLIN, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"),
        (UTC, "2028-02-29T00:00:00Z", "2028-03-01T00:00:00Z"),
    ];
    for (z, a, b) in known {
        assert_eq!(between(&zone(&zones, z).days, ts(a) - 1, ts(b)), [ts(a), ts(b)], "{z} midnights");
    }
    // 2026-03-08 in New York has 23 local hours (02:00 is skipped: 23 changes up to the next
    // midnight); 2026-10-25 in Berlin has 25, but hour 2 twice is one value (24 changes).
    assert_eq!(between(&zone(&zones, NY).hours, ts("2026-03-08T05:00:00Z"), ts("2026-03-09T04:00:00Z")).len(), 23);
    assert_eq!(between(&zone(&zones, BERLIN).hours, ts("2026-10-24T22:00:00Z"), ts("2026-10-25T23:00:00Z")).len(), 24);
    let env = Env { anchors: anchors(), zones };
    eprintln!("temporal_brute: local calendars built in {:.1?}", started.elapsed());

    // The rules.
    let singles = single_rules();
    let lone: Vec<Segment> = singles
        .iter()
        .map(|s| Segment::compile(s.definition(), None).unwrap_or_else(|e| panic!("{}: {e}", s.id)))
        .collect();
    let demo_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/src/demo");
    let schema_text = std::fs::read_to_string(demo_dir.join("../demo_schema.yaml")).unwrap();
    let schema = Schema::from_yaml_str(&schema_text).unwrap();
    let demo = Registry::load_dir(&demo_dir, Some(&schema)).unwrap();
    let small = Registry::from_definitions(small_registry(), None).unwrap();

    // Each target with what can move its outcome (for a registry's segment: what its closure reads).
    let mut targets: Vec<(Target<'_>, Resolved<'_>)> = Vec::new();
    for (seg, spec) in lone.iter().zip(&singles) {
        targets.push((Target::Lone(seg), resolve(&[seg], &spec.fixed, &env.zones)));
    }
    for reg in [&demo, &small] {
        let p = reg.program();
        for (i, seg) in p.segments().iter().enumerate() {
            let closure = p.closure(i);
            let read: Vec<&Segment> = closure.iter().map(|&j| &p.segments()[j]).collect();
            let target = Target::Member { program: p, id: seg.id(), index: i, closure };
            targets.push((target, resolve(&read, &[], &env.zones)));
        }
    }

    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (env, targets, fx) = (&env, &targets, &fx);
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    for index in (w..profiles).step_by(workers) {
                        let d = generate(index, env);
                        let mut rng = Rng(0xC0FF_EE00 ^ index as u64);
                        tally.profiles += 1;
                        for (j, (target, r)) in targets.iter().enumerate() {
                            if (index + j) % STRIDE != 0 {
                                continue;
                            }
                            let q = Query::new(target, &d.profile, fx);
                            tally.pairs += 1;
                            check_next(&q, &d, r, &mut rng, &mut tally);
                            if index % TIMELINE_EVERY == 0 {
                                check_timeline(&q, &d, r, &mut tally);
                            }
                            tally.evaluations += q.evaluations.get();
                        }
                    }
                    tally
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut all = Tally::default();
    for t in tallies {
        all.profiles += t.profiles;
        all.pairs += t.pairs;
        all.changes += t.changes;
        all.entered_or_exited += t.entered_or_exited;
        all.timelines += t.timelines;
        all.timeline_changes += t.timeline_changes;
        all.evaluations += t.evaluations;
        for (k, v) in t.per_rule_changes {
            *all.per_rule_changes.entry(k).or_default() += v;
        }
        all.mismatches.extend(t.mismatches);
    }
    all.mismatches.sort_by_key(|m| m.0);
    eprintln!(
        "temporal_brute: {} profiles, {} targets ({} single rules, {} demo, {} small registry), {} rule×profile \
         pairs, {} next changes found ({} entered/exited), {} timelines with {} changes, {} oracle evaluations, \
         {:.1?}",
        all.profiles,
        targets.len(),
        lone.len(),
        demo.len(),
        small.len(),
        all.pairs,
        all.changes,
        all.entered_or_exited,
        all.timelines,
        all.timeline_changes,
        all.evaluations,
        started.elapsed()
    );
    let quiet: Vec<_> =
        targets.iter().map(|(t, _)| t.id()).filter(|id| !all.per_rule_changes.contains_key(*id)).collect();
    eprintln!("temporal_brute: changes per target: {:?}; never changing: {quiet:?}", all.per_rule_changes);
    for (_, m) in all.mismatches.iter().take(10) {
        eprintln!("MISMATCH {m}\n");
    }
    assert!(all.mismatches.is_empty(), "{} mismatches (the first 10 above)", all.mismatches.len());
}
