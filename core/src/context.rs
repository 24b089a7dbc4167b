//! The evaluation context: everything besides the profile that an evaluation depends on. There is
//! deliberately no default for `as_of`: evaluation never reads the wall clock.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::error::{Error, ErrorKind};
use crate::value::{parse_decimal, Currency};

/// FX quotes: `EUR/USD = 1.0842` means 1 EUR = 1.0842 USD (SPEC §10).
///
/// ```
/// let fx = segcore::FxRates::from_json_str(r#"{"EUR/USD": "1.08"}"#).unwrap();
/// assert_eq!(fx.len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FxRates {
    quotes: BTreeMap<(Currency, Currency), Decimal>,
}

impl FxRates {
    /// No quotes.
    pub fn new() -> FxRates {
        FxRates::default()
    }
    /// Adds a quote: 1 `from` = `rate` `to`.
    pub fn insert(&mut self, from: Currency, to: Currency, rate: Decimal) {
        self.quotes.insert((from, to), rate);
    }
    /// The rate from `from` to `to`, if quoted.
    #[inline]
    pub fn rate(&self, from: Currency, to: Currency) -> Option<Decimal> {
        self.quotes.get(&(from, to)).copied()
    }
    /// Every quote into `to`, as (from, rate), ordered by `from`.
    pub fn quotes_to(&self, to: Currency) -> impl Iterator<Item = (Currency, Decimal)> + '_ {
        self.quotes.iter().filter(move |((_, t), _)| *t == to).map(|((f, _), r)| (*f, *r))
    }
    /// Number of quotes.
    pub fn len(&self) -> usize {
        self.quotes.len()
    }
    /// Whether there are no quotes.
    pub fn is_empty(&self) -> bool {
        self.quotes.is_empty()
    }
    /// Parses `{"EUR/USD": "1.0842", "GBP/USD": 1.27}` (strings keep full precision).
    pub fn from_json_str(text: &str) -> Result<FxRates, Error> {
        let v = crate::document::parse_json(
            text,
            ErrorKind::InvalidContext,
            "the FX table",
            crate::document::DuplicateKeys::Refuse,
        )?;
        FxRates::from_json(&v)
    }
    /// Builds rates from a JSON object of quotes.
    pub fn from_json(v: &serde_json::Value) -> Result<FxRates, Error> {
        crate::document::check_value_depth(v, "the FX table")?;
        let obj = v.as_object().ok_or_else(|| bad("FX rates must be an object like {\"EUR/USD\": \"1.08\"}"))?;
        let mut fx = FxRates::new();
        for (pair, rate) in obj {
            let (from, to) = pair
                .split_once('/')
                .and_then(|(a, b)| Some((Currency::parse(a)?, Currency::parse(b)?)))
                .ok_or_else(|| bad(&format!("FX pair `{pair}` must look like `EUR/USD`")))?;
            let rate = match rate {
                serde_json::Value::String(s) => parse_decimal(s),
                serde_json::Value::Number(n) => parse_decimal(&n.to_string()),
                _ => None,
            }
            .filter(|r| r.is_sign_positive() && !r.is_zero())
            .ok_or_else(|| bad(&format!("FX rate for `{pair}` must be a positive decimal, got {rate}")))?;
            fx.insert(from, to, rate);
        }
        Ok(fx)
    }
}

fn bad(msg: &str) -> Error {
    Error::new(ErrorKind::InvalidContext, msg)
}

/// Parses the evaluation instant: RFC 3339 with an offset, nothing else.
///
/// ```
/// assert!(segcore::parse_as_of("2026-03-15T12:00:00Z").is_ok());
/// assert!(segcore::parse_as_of("2026-03-15T12:00:00").is_err());
/// ```
pub fn parse_as_of(text: &str) -> Result<i64, Error> {
    crate::time::parse_instant(text).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidContext,
            format!("as_of {text:?} must be an RFC 3339 timestamp with an offset, e.g. 2026-03-15T12:00:00Z"),
        )
    })
}

/// The evaluation instant given as a JavaScript `Date`'s time value (milliseconds since 1970), as
/// the JS bindings receive it: accepted only if an RFC 3339 timestamp can spell it (what an
/// `as_of` string can say). An Invalid Date (NaN) or one outside years 0000–9999 is
/// `invalid_context`, never an instant every rule then finds UNKNOWN.
///
/// ```
/// assert_eq!(segcore::as_of_from_millis(1_773_576_000_000.0).unwrap(), 1_773_576_000_000_000);
/// assert!(segcore::as_of_from_millis(f64::NAN).is_err());
/// assert!(segcore::as_of_from_millis(8.64e15).is_err()); // year 275760
/// ```
pub fn as_of_from_millis(ms: f64) -> Result<i64, Error> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::InvalidContext,
            format!("asOf is {why}; segcore needs an instant an RFC 3339 timestamp can spell (years 0000-9999)"),
        )
    };
    if !ms.is_finite() {
        return Err(bad("an Invalid Date (its time value is NaN)"));
    }
    let micros = (ms * 1000.0) as i64;
    let text = crate::time::format_timestamp(micros);
    if parse_as_of(&text).ok() != Some(micros) {
        return Err(bad(&format!("a Date out of range ({ms} ms since 1970)")));
    }
    Ok(micros)
}

/// What an evaluation depends on besides the profile. `as_of` has no default: evaluation never
/// reads the wall clock.
///
/// ```
/// let cx = segcore::EvalContext::parse("2026-03-15T12:00:00Z").unwrap()
///     .with_fx(segcore::FxRates::from_json_str(r#"{"EUR/USD": "1.08"}"#).unwrap());
/// assert_eq!(cx.fx.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EvalContext {
    /// Evaluation instant, microseconds since the epoch.
    pub as_of: i64,
    /// FX quotes for money conversion (SPEC §10); empty by default.
    pub fx: FxRates,
    /// Results of referenced segments, for single-segment evaluation.
    pub segments: BTreeMap<String, bool>,
}

impl EvalContext {
    /// A context at `as_of` (microseconds since the epoch).
    pub fn new(as_of: i64) -> EvalContext {
        EvalContext { as_of, fx: FxRates::new(), segments: BTreeMap::new() }
    }
    /// A context at an RFC 3339 instant with offset.
    pub fn parse(as_of: &str) -> Result<EvalContext, Error> {
        Ok(EvalContext::new(parse_as_of(as_of)?))
    }
    /// Sets the FX quotes.
    pub fn with_fx(mut self, fx: FxRates) -> EvalContext {
        self.fx = fx;
        self
    }
    /// Passes the membership of a referenced segment.
    pub fn with_segment(mut self, id: impl Into<String>, member: bool) -> EvalContext {
        self.segments.insert(id.into(), member);
        self
    }
    /// Sets referenced segments' memberships from a JSON object of booleans (`{"vip": true}`), as
    /// the bindings receive them. An `invalid_context` error names what is wrong (the bindings
    /// raise it as their `TypeError`).
    ///
    /// ```
    /// let mut cx = segcore::EvalContext::new(0);
    /// cx.set_segments_json(&serde_json::json!({"vip": true})).unwrap();
    /// assert_eq!(cx.segments.get("vip"), Some(&true));
    /// let err = cx.set_segments_json(&serde_json::json!({"vip": "yes"})).unwrap_err();
    /// assert_eq!(err.kind(), segcore::ErrorKind::InvalidContext);
    /// ```
    pub fn set_segments_json(&mut self, v: &serde_json::Value) -> Result<(), Error> {
        let map = v.as_object().ok_or_else(|| bad("segments must be an object of booleans, e.g. { vip: true }"))?;
        for (id, member) in map {
            let member = member.as_bool().ok_or_else(|| {
                bad(&format!("segments.{id} must be a boolean (the referenced segment's membership)"))
            })?;
            self.segments.insert(id.clone(), member);
        }
        Ok(())
    }
}
