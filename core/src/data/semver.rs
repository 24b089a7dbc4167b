//! Strict SemVer 2.0.0 parsing and precedence (SPEC §15).

use std::cmp::Ordering;

/// A parsed version. Build metadata is kept for display but ignored by comparisons.
#[derive(Debug, Clone)]
pub struct Version {
    /// MAJOR (no leading zeros).
    pub major: u64,
    /// MINOR (no leading zeros).
    pub minor: u64,
    /// PATCH (no leading zeros).
    pub patch: u64,
    /// Pre-release identifiers after `-`; empty for a release (`1.0.0-rc.1 < 1.0.0`, SPEC §15).
    pub pre: Vec<PreId>,
    /// Build metadata after `+` (without it); `""` when none. Ignored by comparisons.
    pub build: String,
}

/// A pre-release identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreId {
    Num(u64),
    Alpha(String),
}

impl Version {
    /// Parses `MAJOR.MINOR.PATCH[-PRE][+BUILD]`; `None` for anything else.
    ///
    /// ```
    /// use segcore::binding::Version;
    /// assert!(Version::parse("1.2.3-rc.1+build.5").is_some());
    /// assert!(Version::parse("v1.2.3").is_none());
    /// assert!(Version::parse("1.2").is_none());
    /// ```
    pub fn parse(s: &str) -> Option<Version> {
        let (rest, build) = match s.split_once('+') {
            Some((r, b)) => {
                if !valid_idents(b, false) {
                    return None;
                }
                (r, b.to_string())
            }
            None => (s, String::new()),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => {
                if !valid_idents(p, true) {
                    return None;
                }
                let ids = p
                    .split('.')
                    .map(|id| {
                        if id.bytes().all(|b| b.is_ascii_digit()) {
                            id.parse().map(PreId::Num).unwrap_or_else(|_| PreId::Alpha(id.to_string()))
                        } else {
                            PreId::Alpha(id.to_string())
                        }
                    })
                    .collect();
                (c, ids)
            }
            None => (rest, Vec::new()),
        };
        let mut parts = core.split('.');
        let major = num(parts.next()?)?;
        let minor = num(parts.next()?)?;
        let patch = num(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(Version { major, minor, patch, pre, build })
    }
}

fn num(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

fn valid_idents(s: &str, no_leading_zero: bool) -> bool {
    !s.is_empty()
        && s.split('.').all(|id| {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !(no_leading_zero && id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()))
        })
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Version {}
impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch)).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&other.pre) {
                        let o = match (a, b) {
                            (PreId::Num(x), PreId::Num(y)) => x.cmp(y),
                            (PreId::Num(_), PreId::Alpha(_)) => Ordering::Less,
                            (PreId::Alpha(_), PreId::Num(_)) => Ordering::Greater,
                            (PreId::Alpha(x), PreId::Alpha(y)) => x.as_bytes().cmp(y.as_bytes()),
                        };
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    self.pre.len().cmp(&other.pre.len())
                }
            }
        })
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (i, p) in self.pre.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            match p {
                PreId::Num(n) => write!(f, "{n}")?,
                PreId::Alpha(s) => f.write_str(s)?,
            }
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}
