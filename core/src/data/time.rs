//! Time: parsing, formatting, time zones and calendar windows (SPEC §9). Timestamps are i64
//! microseconds since the Unix epoch; nothing here reads the wall clock.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::ast::Window;

/// Microseconds in one unit of a duration literal.
pub fn unit_micros(unit: char) -> i64 {
    match unit {
        'w' => 7 * 86_400_000_000,
        'd' => 86_400_000_000,
        'h' => 3_600_000_000,
        'm' => 60_000_000,
        _ => 1_000_000,
    }
}

/// Parses an RFC 3339 instant with `Z` or a numeric offset into microseconds (finer digits are
/// truncated toward the past). `None` for anything else — including local times without offset.
///
/// ```
/// assert_eq!(segcore::binding::parse_instant("1970-01-01T00:00:01Z"), Some(1_000_000));
/// assert_eq!(segcore::binding::parse_instant("2026-01-01T00:00:00"), None);
/// ```
pub fn parse_instant(s: &str) -> Option<i64> {
    if let Some(t) = parse_instant_fast(s.as_bytes()) {
        return Some(t);
    }
    let b = s.as_bytes();
    // Require the RFC 3339 shape: date, `T`/`t`/space, time, offset.
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let last = *b.last()?;
    let has_offset = matches!(last, b'Z' | b'z')
        || (b.len() >= 6 && matches!(b[b.len() - 6], b'+' | b'-') && b[b.len() - 3] == b':');
    if !has_offset {
        return None;
    }
    let ts: Timestamp = s.parse().ok()?;
    Some(micros_floor(ts))
}

/// The common shape `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` without a general parser (event
/// files hold millions of these). Anything else — or anything out of the plain ranges — returns
/// `None` and goes to jiff, so the accepted set and every result are jiff's (tested).
fn parse_instant_fast(b: &[u8]) -> Option<i64> {
    fn num(b: &[u8]) -> Option<i64> {
        let mut n = 0i64;
        for &c in b {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(c - b'0');
        }
        Some(n)
    }
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (hour, minute, second) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    let mut i = 19;
    let mut frac_us = 0i64;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &b[start..i];
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        for k in 0..6 {
            frac_us = frac_us * 10 + digits.get(k).map_or(0, |c| i64::from(c - b'0'));
        }
    }
    let offset_secs = match &b[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (oh, om) = (num(&[*h1, *h2])?, num(&[*m1, *m2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = oh * 3600 + om * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month[(month - 1) as usize] {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let date = Date::new(year as i16, month as i8, day as i8).ok()?;
    let secs = epoch_days(date) * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    let micros = secs * 1_000_000 + frac_us;
    // jiff's supported range is the contract: outside it, the general parser decides.
    Timestamp::from_microsecond(micros).ok()?;
    Some(micros)
}

/// The same text through jiff only (for tests of the fast path).
/// Local dates (1800–2100) whose midnight is skipped or repeated in `tz`, with the instant
/// SPEC §9 gives their start. Empty for UTC and most zones' modern rules.
pub(crate) fn irregular_midnights(tz: &TimeZone) -> Vec<(jiff::civil::Date, i64)> {
    let mut out = Vec::new();
    let (Ok(start), Ok(end)) = (Timestamp::from_second(-5_364_662_400), Timestamp::from_second(4_102_444_800)) else {
        return out;
    };
    for t in tz.following(start) {
        let at = t.timestamp();
        if at > end {
            break;
        }
        let before = tz.to_offset(at.checked_sub(jiff::SignedDuration::from_nanos(1)).unwrap_or(at));
        let (a, b) = (before.to_datetime(at), t.offset().to_datetime(at));
        // Local times in [min, max) are skipped (clocks forward) or repeated (back).
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let mut day = lo.date();
        while day.to_datetime(jiff::civil::Time::midnight()) < hi {
            let midnight = day.to_datetime(jiff::civil::Time::midnight());
            if midnight >= lo {
                if let Some(instant) = start_of_date(day, tz) {
                    out.push((day, instant));
                }
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
    }
    out.sort_by_key(|(d, _)| *d);
    out.dedup_by_key(|(d, _)| *d);
    out
}

#[cfg(test)]
fn parse_instant_jiff(s: &str) -> Option<i64> {
    let ts: Timestamp = s.parse().ok()?;
    Some(micros_floor(ts))
}

fn micros_floor(ts: Timestamp) -> i64 {
    let ns = ts.as_nanosecond();
    (ns.div_euclid(1000)) as i64
}

/// The instant as a jiff timestamp.
pub fn to_timestamp(micros: i64) -> Option<Timestamp> {
    Timestamp::from_microsecond(micros).ok()
}

/// Formats microseconds as `YYYY-MM-DDTHH:MM:SS[.f]Z` (fraction without trailing zeros).
pub fn format_timestamp(micros: i64) -> String {
    match to_timestamp(micros) {
        Some(ts) => {
            let secs = micros.div_euclid(1_000_000);
            let frac = micros.rem_euclid(1_000_000);
            let whole = Timestamp::from_second(secs).unwrap_or(ts);
            let base = whole.strftime("%Y-%m-%dT%H:%M:%S").to_string();
            if frac == 0 {
                format!("{base}Z")
            } else {
                let f = format!("{frac:06}");
                format!("{base}.{}Z", f.trim_end_matches('0'))
            }
        }
        None => format!("<out of range: {micros}µs>"),
    }
}

/// Formats a duration in the largest exact unit (`90d`, `36h`, `1500000us`).
pub fn format_duration(micros: i64) -> String {
    for (unit, len) in [('d', 86_400_000_000i64), ('h', 3_600_000_000), ('m', 60_000_000), ('s', 1_000_000)] {
        if micros % len == 0 {
            return format!("{}{unit}", micros / len);
        }
    }
    format!("{micros}us")
}

/// Looks up an IANA zone in segcore's bundled database.
pub fn zone(name: &str) -> Option<TimeZone> {
    if name == "UTC" {
        return Some(TimeZone::UTC);
    }
    TimeZone::get(name).ok()
}

/// Reads a literal: an instant with offset, a local date-time, or a date (start of day), the
/// local forms in `tz` with the `compatible` policy (gap → forward, overlap → earlier).
pub fn parse_literal_instant(s: &str, tz: &TimeZone) -> Option<i64> {
    if let Some(t) = parse_instant(s) {
        return Some(t);
    }
    if let Ok(dt) = s.parse::<DateTime>() {
        if s.len() >= 16 {
            return local_to_instant(dt, tz);
        }
    }
    let d = parse_date(s)?;
    start_of_date(d, tz)
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    if s.len() != 10 {
        return None;
    }
    s.parse::<Date>().ok()
}

/// The instant of a local date-time in `tz` (compatible disambiguation).
pub fn local_to_instant(dt: DateTime, tz: &TimeZone) -> Option<i64> {
    let z = tz.to_ambiguous_zoned(dt).compatible().ok()?;
    Some(micros_floor(z.timestamp()))
}

/// How a local date-time was resolved in a zone (SPEC's `compatible` policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The wall time occurs exactly once.
    Exact,
    /// The wall time does not exist (clocks skip it): moved forward by the gap.
    Gap,
    /// The wall time occurs twice (clocks go back): the earlier instant.
    Overlap,
}

impl Resolution {
    /// `exact`, `gap` or `overlap`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Exact => "exact",
            Resolution::Gap => "gap",
            Resolution::Overlap => "overlap",
        }
    }
}

/// [`resolve_local`] as the JSON object the JavaScript bindings return:
/// `{ "instant": RFC 3339 UTC, "offsetSeconds": n, "resolution": "exact" | "gap" | "overlap" }`.
pub fn resolve_local_json(text: &str, zone_name: &str) -> Option<serde_json::Value> {
    let (t, offset, how) = resolve_local(text, zone_name)?;
    Some(serde_json::json!({ "instant": format_timestamp(t), "offsetSeconds": offset, "resolution": how.as_str() }))
}

/// A local date-time (`YYYY-MM-DDTHH:MM[:SS]`) in the IANA zone `zone_name`, resolved as segcore
/// resolves local times everywhere (`compatible`: gap → forward, overlap → earlier), with the
/// bundled time-zone database. Returns the instant (µs), the UTC offset in effect at it (seconds)
/// and how it was resolved; `None` for bad text or an unknown zone. For tools (the playground's
/// `as_of` picker) that must agree with the evaluator rather than with the host's zone rules.
///
/// ```
/// use segcore::binding::{format_timestamp, resolve_local, Resolution};
/// // New York skips 02:00–03:00 on 2026-03-08: 02:30 moves forward to 03:30 EDT = 07:30Z.
/// let (t, offset, how) = resolve_local("2026-03-08T02:30", "America/New_York").unwrap();
/// assert_eq!(format_timestamp(t), "2026-03-08T07:30:00Z");
/// assert_eq!((offset, how), (-4 * 3600, Resolution::Gap));
/// ```
pub fn resolve_local(text: &str, zone_name: &str) -> Option<(i64, i32, Resolution)> {
    use jiff::tz::AmbiguousOffset;
    if text.len() < 16 {
        return None;
    }
    let dt: DateTime = text.parse().ok()?;
    let tz = zone(zone_name)?;
    let ambiguous = tz.to_ambiguous_zoned(dt);
    let how = match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { .. } => Resolution::Exact,
        AmbiguousOffset::Gap { .. } => Resolution::Gap,
        AmbiguousOffset::Fold { .. } => Resolution::Overlap,
    };
    let z = ambiguous.compatible().ok()?;
    Some((micros_floor(z.timestamp()), z.offset().seconds(), how))
}

/// The first instant of local date `d` in `tz`.
pub fn start_of_date(d: Date, tz: &TimeZone) -> Option<i64> {
    let z = tz.to_ambiguous_zoned(d.to_datetime(Time::midnight())).compatible().ok()?;
    let z = z.start_of_day().ok()?;
    Some(micros_floor(z.timestamp()))
}

/// The local date-time of an instant in `tz`.
pub fn local(micros: i64, tz: &TimeZone) -> Option<DateTime> {
    Some(tz.to_datetime(to_timestamp(micros)?))
}

/// The local date of an instant in `tz`.
pub fn local_date(micros: i64, tz: &TimeZone) -> Option<Date> {
    local(micros, tz).map(|dt| dt.date())
}

/// Days from 1970-01-01 to `d`.
pub fn epoch_days(d: Date) -> i64 {
    // Howard Hinnant's days_from_civil.
    let (y, m, day) = (d.year() as i64, d.month() as i64, d.day() as i64);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Monday of `d`'s ISO week.
pub fn monday_of(d: Date) -> Option<Date> {
    let back = d.weekday().to_monday_zero_offset() as i64;
    d.checked_sub(back.days()).ok()
}

/// `[start, end]` bounds of a window at `as_of`, as (start inclusive, end, end inclusive?).
pub fn window_bounds(w: &Window, as_of: i64, tz: &TimeZone) -> Option<(i64, i64, bool)> {
    let today = || local_date(as_of, tz);
    Some(match w {
        Window::Last(n, unit) => {
            let len = n.checked_mul(unit_micros(*unit))?;
            (as_of.checked_sub(len)?, as_of, true)
        }
        Window::Today => (start_of_date(today()?, tz)?, as_of, true),
        Window::Yesterday => {
            let t = today()?;
            (start_of_date(t.yesterday().ok()?, tz)?, start_of_date(t, tz)?, false)
        }
        Window::ThisWeek => (start_of_date(monday_of(today()?)?, tz)?, as_of, true),
        Window::LastWeek => {
            let monday = monday_of(today()?)?;
            (start_of_date(monday.checked_sub(7.days()).ok()?, tz)?, start_of_date(monday, tz)?, false)
        }
        Window::ThisMonth => (start_of_date(today()?.first_of_month(), tz)?, as_of, true),
        Window::LastMonth => {
            let first = today()?.first_of_month();
            let prev = first.checked_sub(1.month()).ok()?;
            (start_of_date(prev, tz)?, start_of_date(first, tz)?, false)
        }
    })
}

/// Whether `t` is inside `(start, end, end_inclusive)`, and never after `as_of`.
#[inline]
pub fn in_bounds(t: i64, bounds: (i64, i64, bool), as_of: i64) -> bool {
    let (start, end, inclusive) = bounds;
    t >= start && t <= as_of && if inclusive { t <= end } else { t < end }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_instant_parser_agrees_with_jiff() {
        let mut cases: Vec<String> = vec![
            "2026-03-08T07:00:00Z".into(),
            "2024-02-29T23:59:59.999999999+14:00".into(),
            "1970-01-01T00:00:00.5-00:30".into(),
            "0001-01-01T00:00:00Z".into(),
            "9999-12-30T21:59:59.123+01:00".into(),
            "2026-03-01 10:00:00z".into(),
            "1969-12-31T23:59:59.000001Z".into(),
        ];
        // A sweep over dates, times, fractions and offsets.
        let mut x: u64 = 1;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let y = 1900 + (x % 300) as i64;
            let mo = 1 + (x >> 9) % 12;
            let d = 1 + (x >> 13) % 28;
            let frac = match (x >> 17) % 4 {
                0 => String::new(),
                1 => format!(".{}", (x >> 20) % 1000),
                2 => format!(".{:06}", (x >> 20) % 1_000_000),
                _ => format!(".{:09}", (x >> 20) % 1_000_000_000),
            };
            let off = match (x >> 40) % 3 {
                0 => "Z".to_string(),
                1 => format!("+{:02}:{:02}", (x >> 42) % 24, (x >> 47) % 60),
                _ => format!("-{:02}:{:02}", (x >> 42) % 24, (x >> 47) % 60),
            };
            cases.push(format!(
                "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}{frac}{off}",
                (x >> 25) % 24,
                (x >> 30) % 60,
                (x >> 35) % 60
            ));
        }
        for c in &cases {
            let fast = parse_instant_fast(c.as_bytes());
            assert_eq!(fast, parse_instant_jiff(c), "{c}");
            assert!(fast.is_some(), "{c} should take the fast path");
        }
        // Shapes the fast path leaves to jiff.
        for c in [
            "9999-12-31T23:59:59.123+01:00",
            "2026-02-30T00:00:00Z",
            "2026-03-01T24:00:00Z",
            "2026-03-01T10:00:60Z",
            "2026-03-01T10:00:00+24:00",
            "2026-03-01T10:00Z",
        ] {
            assert_eq!(parse_instant_fast(c.as_bytes()), None, "{c}");
        }
    }
}

#[cfg(test)]
mod resolve_local_tests {
    use super::*;

    fn resolved(text: &str, zone: &str) -> (String, i32, Resolution) {
        let (t, offset, how) = resolve_local(text, zone).unwrap();
        (format_timestamp(t), offset, how)
    }

    #[test]
    fn wall_times_resolve_like_the_evaluator() {
        // Tokyo is UTC+9 all year: 21:00 local is 12:00Z.
        assert_eq!(
            resolved("2026-03-15T21:00", "Asia/Tokyo"),
            ("2026-03-15T12:00:00Z".into(), 9 * 3600, Resolution::Exact)
        );
        // Berlin in March 2026 is CET (UTC+1) until the 29th.
        assert_eq!(
            resolved("2026-03-15T13:00:00", "Europe/Berlin"),
            ("2026-03-15T12:00:00Z".into(), 3600, Resolution::Exact)
        );
        // New York falls back on 2026-11-01: 01:30 happens twice; the earlier is EDT (UTC-4) = 05:30Z.
        assert_eq!(
            resolved("2026-11-01T01:30", "America/New_York"),
            ("2026-11-01T05:30:00Z".into(), -4 * 3600, Resolution::Overlap)
        );
        assert_eq!(resolved("2026-03-15T12:00", "UTC"), ("2026-03-15T12:00:00Z".into(), 0, Resolution::Exact));
        assert_eq!(resolve_local("2026-03-15T12:00", "Mars/Olympus"), None);
        assert_eq!(resolve_local("2026-03-15", "UTC"), None);
        assert_eq!(resolve_local("yesterday at noon", "UTC"), None);
    }
}
