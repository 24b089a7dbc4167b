//! Rule text → tokens. Hand-written so every error carries an exact span.

use crate::error::{Diagnostic, ErrorKind, Span};

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "between",
    "is",
    "null",
    "true",
    "false",
    "exists",
    "contains",
    "starts_with",
    "ends_with",
    "matches",
    "within",
    "before",
    "after",
    "where",
    "as_of",
    "today",
    "yesterday",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
];

/// Whether `word` is a reserved keyword.
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

/// A lexical token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    /// Integer literal text (digits only; sign handled by the parser).
    Int(String),
    /// Decimal literal text `digits.digits`.
    Decimal(String),
    Str(String),
    /// Duration: magnitude and unit letter.
    Duration(String, char),
    /// A currency code directly following a number (`500 USD`).
    Currency(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Plus,
    Minus,
    Star,
    Slash,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Int(s) | Tok::Decimal(s) => format!("number `{s}`"),
            Tok::Str(_) => "a string".into(),
            Tok::Duration(n, u) => format!("duration `{n}{u}`"),
            Tok::Currency(c) => format!("currency `{c}`"),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Dot => "`.`".into(),
            Tok::Plus => "`+`".into(),
            Tok::Minus => "`-`".into(),
            Tok::Star => "`*`".into(),
            Tok::Slash => "`/`".into(),
            Tok::Eq => "`=`".into(),
            Tok::Ne => "`!=`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Le => "`<=`".into(),
            Tok::Gt => "`>`".into(),
            Tok::Ge => "`>=`".into(),
            Tok::Eof => "end of rule".into(),
        }
    }
}

/// A token with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// Splits `src` into tokens, ending with `Tok::Eof`.
pub fn lex(src: &str) -> Result<Vec<Token>, Diagnostic> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' | b')' | b'[' | b']' | b',' | b'.' | b'+' | b'-' | b'*' | b'/' | b'=' => {
                i += 1;
                let tok = match c {
                    b'(' => Tok::LParen,
                    b')' => Tok::RParen,
                    b'[' => Tok::LBracket,
                    b']' => Tok::RBracket,
                    b',' => Tok::Comma,
                    b'.' => Tok::Dot,
                    b'+' => Tok::Plus,
                    b'-' => Tok::Minus,
                    b'*' => Tok::Star,
                    b'/' => Tok::Slash,
                    _ => Tok::Eq,
                };
                out.push(Token { tok, span: Span::new(start, i) });
            }
            b'!' | b'<' | b'>' => {
                let eq = bytes.get(i + 1) == Some(&b'=');
                let tok = match (c, eq) {
                    (b'!', true) => Tok::Ne,
                    (b'<', true) => Tok::Le,
                    (b'>', true) => Tok::Ge,
                    (b'<', false) => Tok::Lt,
                    (b'>', false) => Tok::Gt,
                    _ => {
                        return Err(Diagnostic::at(
                            ErrorKind::SyntaxError,
                            Span::new(i, i + 1),
                            "unexpected `!` (did you mean `!=` or `not`?)",
                        ))
                    }
                };
                i += if eq { 2 } else { 1 };
                out.push(Token { tok, span: Span::new(start, i) });
            }
            b'"' => {
                let (s, end) = lex_string(src, i)?;
                i = end;
                out.push(Token { tok: Tok::Str(s), span: Span::new(start, i) });
            }
            b'0'..=b'9' => {
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                let mut tok = Tok::Int(src[start..i].to_string());
                if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                    tok = Tok::Decimal(src[start..i].to_string());
                }
                if i < bytes.len() && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
                    // A unit glued to the number: `30d`.
                    let unit_start = i;
                    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                        i += 1;
                    }
                    let unit = &src[unit_start..i];
                    match (&tok, unit) {
                        (Tok::Int(n), "w" | "d" | "h" | "m" | "s") => {
                            tok = Tok::Duration(n.clone(), unit.chars().next().unwrap_or('d'));
                        }
                        _ => {
                            return Err(Diagnostic::at(
                                ErrorKind::SyntaxError,
                                Span::new(unit_start, i),
                                format!(
                                    "unknown unit `{unit}` after a number: durations are an integer followed by w, d, h, m or s (`30d`); money puts a space before the currency (`500 USD`)"
                                ),
                            ));
                        }
                    }
                }
                out.push(Token { tok, span: Span::new(start, i) });
                // `500 USD`: a currency code after whitespace following a number.
                if matches!(out.last().map(|t| &t.tok), Some(Tok::Int(_) | Tok::Decimal(_))) {
                    let mut j = i;
                    while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                        j += 1;
                    }
                    if j > i {
                        let cs = j;
                        while j < bytes.len() && bytes[j].is_ascii_uppercase() {
                            j += 1;
                        }
                        let word_end = {
                            let mut k = j;
                            while k < bytes.len() && (bytes[k].is_ascii_alphanumeric() || bytes[k] == b'_') {
                                k += 1;
                            }
                            k
                        };
                        if j > cs && word_end == j {
                            let word = &src[cs..j];
                            let lower = word.to_ascii_lowercase();
                            if is_keyword(&lower) {
                                return Err(Diagnostic::at(
                                    ErrorKind::SyntaxError,
                                    Span::new(cs, j),
                                    format!(
                                        "`{word}` after an amount: keywords are lowercase (did you mean `{lower}`?)"
                                    ),
                                ));
                            }
                            if j - cs == 3 && crate::data::iso4217::is_active(word) {
                                out.push(Token { tok: Tok::Currency(word.to_string()), span: Span::new(cs, j) });
                                i = j;
                            } else if j - cs == 3 {
                                return Err(Diagnostic::at(
                                    ErrorKind::InvalidCurrency,
                                    Span::new(cs, j),
                                    format!("`{word}` is not an ISO 4217 currency code (e.g. `500 USD`, `19.99 EUR`)"),
                                ));
                            } else {
                                return Err(Diagnostic::at(
                                    ErrorKind::InvalidCurrency,
                                    Span::new(cs, j),
                                    format!(
                                        "`{}` is not a currency code: codes are three uppercase letters (ISO 4217), e.g. `500 USD`",
                                        &src[cs..j]
                                    ),
                                ));
                            }
                        }
                    }
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                out.push(Token { tok: Tok::Ident(src[start..i].to_string()), span: Span::new(start, i) });
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                let end = i + ch.len_utf8();
                let hint = match ch {
                    '\'' => " (strings use double quotes)",
                    '&' | '|' => " (use `and` / `or`)",
                    _ => "",
                };
                return Err(Diagnostic::at(
                    ErrorKind::SyntaxError,
                    Span::new(i, end),
                    format!("unexpected character `{ch}`{hint}"),
                ));
            }
        }
    }
    // "Unexpected end" points just past the last visible character, not at trailing newlines.
    let end = src.trim_end().len();
    out.push(Token { tok: Tok::Eof, span: Span::new(end, end) });
    Ok(out)
}

fn lex_string(src: &str, open: usize) -> Result<(String, usize), Diagnostic> {
    let mut out = String::new();
    let mut chars = src[open + 1..].char_indices();
    while let Some((off, ch)) = chars.next() {
        let at = open + 1 + off;
        match ch {
            '"' => return Ok((out, at + 1)),
            '\\' => {
                let Some((_, esc)) = chars.next() else { break };
                match esc {
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'u' => {
                        let rest = &src[at + 2..];
                        let close = rest.find('}');
                        let ok = rest.starts_with('{')
                            && close.is_some_and(|c| (2..=7).contains(&c))
                            && close.is_some_and(|c| rest[1..c].bytes().all(|b| b.is_ascii_hexdigit()));
                        let value = if ok {
                            let c = close.unwrap_or(0);
                            u32::from_str_radix(&rest[1..c], 16).ok().and_then(char::from_u32).map(|ch| (ch, c))
                        } else {
                            None
                        };
                        match value {
                            Some((ch, c)) => {
                                out.push(ch);
                                for _ in 0..=c {
                                    chars.next();
                                }
                            }
                            None => {
                                return Err(Diagnostic::at(
                                    ErrorKind::InvalidEscape,
                                    Span::new(at, at + 2),
                                    "invalid unicode escape: write `\\u{XXXX}` with 1 to 6 hex digits naming a Unicode scalar value",
                                ))
                            }
                        }
                    }
                    other => {
                        return Err(Diagnostic::at(
                            ErrorKind::InvalidEscape,
                            Span::new(at, at + 1 + other.len_utf8()),
                            format!("invalid escape `\\{other}`: allowed are \\\" \\\\ \\n \\t \\r \\u{{…}}"),
                        ))
                    }
                }
            }
            c => out.push(c),
        }
    }
    Err(Diagnostic::at(ErrorKind::SyntaxError, Span::new(open, src.len()), "unterminated string"))
}
