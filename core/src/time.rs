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
/// assert_eq!(segcore::time::parse_instant("1970-01-01T00:00:01Z"), Some(1_000_000));
/// assert_eq!(segcore::time::parse_instant("2026-01-01T00:00:00"), None);
/// ```
pub fn parse_instant(s: &str) -> Option<i64> {
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
