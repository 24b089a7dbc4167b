//! Tokens → syntax tree (SPEC §3). Recursive descent with a depth limit, so no input can
//! overflow the stack.

use crate::ast::{AggFn, Expr, ExprKind, Literal, Op, PathSeg, Window};
use crate::error::{Diagnostic, ErrorKind, Span};
use crate::lexer::{is_keyword, lex, Tok, Token};
use crate::limits;

/// A hint for a token a user may have meant differently: an uppercase keyword (`AND`), or `=`
/// right after `=` (`==`). Empty when there is none.
fn hint(found: &Tok, previous: Option<&Tok>) -> String {
    let uppercase_keyword = |t: &Tok| match t {
        Tok::Ident(w) if w.len() > 1 && w.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') => {
            Some(w.to_ascii_lowercase()).filter(|lower| is_keyword(lower))
        }
        _ => None,
    };
    // `NOT vip`: the uppercase word was read as a name, and the error is at the word after it.
    match (uppercase_keyword(found).or_else(|| previous.and_then(uppercase_keyword)), found) {
        (Some(lower), _) => format!(" (keywords are lowercase: did you mean `{lower}`?)"),
        (None, Tok::Eq) if previous == Some(&Tok::Eq) => " (`==` is not an operator: equality is a single `=`)".into(),
        _ => String::new(),
    }
}

/// Parses rule text into a syntax tree.
pub fn parse(src: &str) -> Result<Expr, Diagnostic> {
    if src.len() > limits::MAX_RULE_BYTES {
        return Err(Diagnostic::new(
            ErrorKind::LimitExceeded,
            format!("rule is {} bytes; the limit is {} bytes", src.len(), limits::MAX_RULE_BYTES),
        ));
    }
    let tokens = lex(src)?;
    let mut p = Parser { tokens, pos: 0, depth: 0, in_where: 0, filter_top: false };
    if p.peek() == &Tok::Eof {
        return Err(Diagnostic::at(ErrorKind::SyntaxError, p.span(), "empty rule"));
    }
    let expr = p.parse_or()?;
    check_tree_depth(&expr, expr.span)?;
    if p.peek() != &Tok::Eof {
        let msg = if is_cmp(p.peek()) {
            "comparisons do not chain: combine them with `and` (e.g. `a < b and b < c`)".to_string()
        } else {
            let previous = p.pos.checked_sub(1).and_then(|i| p.tokens.get(i)).map(|t| &t.tok);
            format!("expected end of rule, found {}{}", p.peek().describe(), hint(p.peek(), previous))
        };
        return Err(Diagnostic::at(ErrorKind::SyntaxError, p.span(), msg));
    }
    Ok(expr)
}

fn is_cmp(t: &Tok) -> bool {
    matches!(t, Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    in_where: usize,
    /// Directly inside an aggregate's `where`: a trailing `within` is the aggregate's window.
    filter_top: bool,
}

type PResult<T> = Result<T, Diagnostic>;

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos].tok
    }
    fn peek_at(&self, n: usize) -> &Tok {
        &self.tokens[(self.pos + n).min(self.tokens.len() - 1)].tok
    }
    fn span(&self) -> Span {
        self.tokens[self.pos].span
    }
    fn bump(&mut self) -> Token {
        let t = self.tokens[self.pos].clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == kw)
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn expect(&mut self, tok: Tok, what: &str) -> PResult<Span> {
        if *self.peek() == tok {
            Ok(self.bump().span)
        } else {
            Err(self.unexpected(what))
        }
    }
    fn unexpected(&self, what: &str) -> Diagnostic {
        Diagnostic::at(
            ErrorKind::SyntaxError,
            self.span(),
            format!(
                "expected {what}, found {}{}",
                self.peek().describe(),
                hint(self.peek(), self.pos.checked_sub(1).and_then(|i| self.tokens.get(i)).map(|t| &t.tok))
            ),
        )
    }
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > limits::MAX_DEPTH {
            return Err(Diagnostic::at(
                ErrorKind::LimitExceeded,
                self.span(),
                format!("expression nesting is deeper than {} levels", limits::MAX_DEPTH),
            ));
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn parse_or(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.parse_chain("or", Op::Or, Self::parse_and);
        self.leave();
        r
    }

    fn parse_and(&mut self) -> PResult<Expr> {
        self.parse_chain("and", Op::And, Self::parse_not)
    }

    fn parse_chain(&mut self, kw: &str, op: Op, next: fn(&mut Self) -> PResult<Expr>) -> PResult<Expr> {
        let first = next(self)?;
        if !self.is_kw(kw) {
            return Ok(first);
        }
        let mut args = Vec::new();
        push_flat(&mut args, first, op);
        while self.eat_kw(kw) {
            let e = next(self)?;
            push_flat(&mut args, e, op);
        }
        let span = args[0].span.to(args[args.len() - 1].span);
        Ok(Expr { kind: ExprKind::Op(op, args), span })
    }

    fn parse_not(&mut self) -> PResult<Expr> {
        if self.is_kw("not") {
            let start = self.bump().span;
            self.enter()?;
            let inner = self.parse_not();
            self.leave();
            let inner = inner?;
            let span = start.to(inner.span);
            return Ok(Expr { kind: ExprKind::Op(Op::Not, vec![inner]), span });
        }
        self.parse_predicate()
    }

    fn parse_predicate(&mut self) -> PResult<Expr> {
        let lhs = self.parse_sum()?;
        let op = match self.peek() {
            Tok::Eq => Some(Op::Eq),
            Tok::Ne => Some(Op::Ne),
            Tok::Lt => Some(Op::Lt),
            Tok::Le => Some(Op::Le),
            Tok::Gt => Some(Op::Gt),
            Tok::Ge => Some(Op::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let rhs = self.parse_sum()?;
            return Ok(binary(op, lhs, rhs));
        }
        let Tok::Ident(word) = self.peek().clone() else {
            return Ok(lhs);
        };
        let negated = word == "not";
        let word = if negated {
            match self.peek_at(1).clone() {
                Tok::Ident(w)
                    if matches!(
                        w.as_str(),
                        "in" | "between" | "contains" | "starts_with" | "ends_with" | "matches"
                    ) =>
                {
                    self.bump();
                    w
                }
                _ => return Ok(lhs),
            }
        } else {
            word
        };
        let pick = |pos: Op, neg: Op| if negated { neg } else { pos };
        match word.as_str() {
            "in" => {
                self.bump();
                let rhs = self.parse_sum()?;
                Ok(binary(pick(Op::In, Op::NotIn), lhs, rhs))
            }
            "between" => {
                self.bump();
                let lo = self.parse_sum()?;
                if !self.eat_kw("and") {
                    return Err(self.unexpected("`and` in `between … and …`"));
                }
                let hi = self.parse_sum()?;
                let span = lhs.span.to(hi.span);
                Ok(Expr { kind: ExprKind::Op(pick(Op::Between, Op::NotBetween), vec![lhs, lo, hi]), span })
            }
            "contains" | "starts_with" | "ends_with" | "matches" => {
                self.bump();
                let rhs = self.parse_sum()?;
                let op = match word.as_str() {
                    "contains" => pick(Op::Contains, Op::NotContains),
                    "starts_with" => pick(Op::StartsWith, Op::NotStartsWith),
                    "ends_with" => pick(Op::EndsWith, Op::NotEndsWith),
                    _ => pick(Op::Matches, Op::NotMatches),
                };
                Ok(binary(op, lhs, rhs))
            }
            "is" => {
                self.bump();
                let not = self.eat_kw("not");
                let end = self.span();
                if !self.eat_kw("null") {
                    return Err(self.unexpected("`null` after `is`"));
                }
                let span = lhs.span.to(end);
                let op = if not { Op::IsNotNull } else { Op::IsNull };
                Ok(Expr { kind: ExprKind::Op(op, vec![lhs]), span })
            }
            "exists" if self.peek_at(1) != &Tok::LParen => {
                let end = self.bump().span;
                let span = lhs.span.to(end);
                Ok(Expr { kind: ExprKind::Op(Op::IsNotNull, vec![lhs]), span })
            }
            "within" if !self.filter_top => {
                self.bump();
                let (window, end) = self.parse_window()?;
                let span = lhs.span.to(end);
                Ok(Expr { kind: ExprKind::Within(Box::new(lhs), window), span })
            }
            "before" | "after" => {
                self.bump();
                let rhs = self.parse_sum()?;
                Ok(binary(if word == "before" { Op::Before } else { Op::After }, lhs, rhs))
            }
            _ => Ok(lhs),
        }
    }

    fn parse_window(&mut self) -> PResult<(Window, Span)> {
        let t = self.bump();
        let w = match &t.tok {
            Tok::Duration(n, u) => Window::Last(parse_i64(n, false, t.span)?, *u),
            Tok::Minus if matches!(self.peek(), Tok::Duration(..)) => {
                return Err(Diagnostic::at(ErrorKind::SyntaxError, t.span, "a window length cannot be negative"));
            }
            Tok::Ident(w) => match w.as_str() {
                "today" => Window::Today,
                "yesterday" => Window::Yesterday,
                "this_week" => Window::ThisWeek,
                "last_week" => Window::LastWeek,
                "this_month" => Window::ThisMonth,
                "last_month" => Window::LastMonth,
                _ => return Err(window_error(t.span, &t.tok)),
            },
            _ => return Err(window_error(t.span, &t.tok)),
        };
        Ok((w, t.span))
    }

    fn parse_sum(&mut self) -> PResult<Expr> {
        let mut lhs = self.parse_product()?;
        // A left-associative chain nests one tree level per operator with no parenthesis to
        // count, so its depth is tracked as it grows and refused at the operator that crosses
        // the limit — before a deeper tree exists for any later pass to recurse over.
        let mut depth = None;
        loop {
            let op = match self.peek() {
                Tok::Plus => Op::Add,
                Tok::Minus => Op::Sub,
                _ => return Ok(lhs),
            };
            let op_span = self.bump().span;
            let rhs = self.parse_product()?;
            let d = 1 + depth.unwrap_or_else(|| lhs.depth()).max(rhs.depth());
            check_depth(d, op_span)?;
            depth = Some(d);
            lhs = binary(op, lhs, rhs);
        }
    }

    fn parse_product(&mut self) -> PResult<Expr> {
        let mut lhs = self.parse_unary()?;
        // A left-associative chain nests one tree level per operator with no parenthesis to
        // count, so its depth is tracked as it grows and refused at the operator that crosses
        // the limit — before a deeper tree exists for any later pass to recurse over.
        let mut depth = None;
        loop {
            let op = match self.peek() {
                Tok::Star => Op::Mul,
                Tok::Slash => Op::Div,
                _ => return Ok(lhs),
            };
            let op_span = self.bump().span;
            let rhs = self.parse_unary()?;
            let d = 1 + depth.unwrap_or_else(|| lhs.depth()).max(rhs.depth());
            check_depth(d, op_span)?;
            depth = Some(d);
            lhs = binary(op, lhs, rhs);
        }
    }

    fn parse_unary(&mut self) -> PResult<Expr> {
        if self.peek() == &Tok::Minus {
            let start = self.bump().span;
            // A minus glued to a literal is part of the literal (SPEC §3).
            match self.peek().clone() {
                Tok::Int(_) | Tok::Decimal(_) | Tok::Duration(..) => {
                    let lit = self.parse_number(true, start)?;
                    return self.parse_postfix(lit);
                }
                _ => {}
            }
            self.enter()?;
            let inner = self.parse_unary();
            self.leave();
            let inner = inner?;
            let span = start.to(inner.span);
            return Ok(Expr { kind: ExprKind::Op(Op::Neg, vec![inner]), span });
        }
        let prim = self.parse_primary()?;
        self.parse_postfix(prim)
    }

    fn parse_number(&mut self, negative: bool, start: Span) -> PResult<Expr> {
        let t = self.bump();
        let sign = if negative { "-" } else { "" };
        let mut span = start.to(t.span);
        let lit = match &t.tok {
            Tok::Int(n) => {
                if let Tok::Currency(c) = self.peek().clone() {
                    span = span.to(self.bump().span);
                    Literal::Money(format!("{sign}{n}"), c)
                } else {
                    Literal::Int(parse_i64(n, negative, span)?)
                }
            }
            Tok::Decimal(d) => {
                check_decimal(d, span)?;
                if let Tok::Currency(c) = self.peek().clone() {
                    span = span.to(self.bump().span);
                    Literal::Money(format!("{sign}{d}"), c)
                } else {
                    Literal::Decimal(format!("{sign}{d}"))
                }
            }
            Tok::Duration(n, u) => Literal::Duration(parse_i64(n, negative, span)?, *u),
            _ => return Err(Diagnostic::at(ErrorKind::SyntaxError, t.span, "expected a number")),
        };
        Ok(Expr { kind: ExprKind::Lit(lit), span })
    }

    fn parse_postfix(&mut self, mut e: Expr) -> PResult<Expr> {
        loop {
            let seg = match self.peek() {
                Tok::Dot => {
                    self.bump();
                    let t = self.bump();
                    match t.tok {
                        Tok::Ident(name) => (PathSeg::Key(name), t.span),
                        _ => {
                            return Err(Diagnostic::at(
                                ErrorKind::SyntaxError,
                                t.span,
                                format!("expected a field name after `.`, found {}", t.tok.describe()),
                            ))
                        }
                    }
                }
                Tok::LBracket => {
                    self.bump();
                    let t = self.bump();
                    let idx = match &t.tok {
                        Tok::Int(n) => n.parse::<i64>().map(|i| i as u64).map_err(|_| {
                            Diagnostic::at(ErrorKind::NumberOutOfRange, t.span, "list index is too large")
                        })?,
                        _ => {
                            return Err(Diagnostic::at(
                                ErrorKind::SyntaxError,
                                t.span,
                                format!("expected a non-negative integer index, found {}", t.tok.describe()),
                            ))
                        }
                    };
                    let end = self.expect(Tok::RBracket, "`]`")?;
                    (PathSeg::Index(idx), end)
                }
                _ => return Ok(e),
            };
            let span = e.span.to(seg.1);
            e = match e.kind {
                ExprKind::Path(mut p) => {
                    p.push(seg.0);
                    Expr { kind: ExprKind::Path(p), span }
                }
                ExprKind::Get(inner, mut p) => {
                    p.push(seg.0);
                    Expr { kind: ExprKind::Get(inner, p), span }
                }
                kind => Expr { kind: ExprKind::Get(Box::new(Expr { kind, span: e.span }), vec![seg.0]), span },
            };
        }
    }

    fn parse_primary(&mut self) -> PResult<Expr> {
        let start = self.span();
        match self.peek().clone() {
            Tok::Int(_) | Tok::Decimal(_) | Tok::Duration(..) => self.parse_number(false, start),
            Tok::Str(s) => {
                self.bump();
                Ok(Expr { kind: ExprKind::Lit(Literal::Str(s)), span: start })
            }
            Tok::LParen => {
                self.bump();
                let saved = std::mem::replace(&mut self.filter_top, false);
                let inner = self.parse_or();
                self.filter_top = saved;
                let inner = inner?;
                let end = self.expect(Tok::RParen, "`)`")?;
                // Parentheses leave no trace in the tree, but the span covers them.
                Ok(Expr { kind: inner.kind, span: start.to(end) })
            }
            Tok::LBracket => {
                self.bump();
                self.enter()?;
                let items = self.parse_items(Tok::RBracket, "`,` or `]`");
                self.leave();
                let (items, end) = items?;
                if items.len() > limits::MAX_LIST_LEN {
                    return Err(Diagnostic::at(
                        ErrorKind::LimitExceeded,
                        start.to(end),
                        format!("list has {} elements; the limit is {}", items.len(), limits::MAX_LIST_LEN),
                    ));
                }
                Ok(Expr { kind: ExprKind::List(items), span: start.to(end) })
            }
            Tok::Ident(word) => {
                self.bump();
                match word.as_str() {
                    "null" => return Ok(lit(Literal::Null, start)),
                    "true" => return Ok(lit(Literal::Bool(true), start)),
                    "false" => return Ok(lit(Literal::Bool(false), start)),
                    "as_of" => return Ok(Expr { kind: ExprKind::Var("as_of"), span: start }),
                    _ => {}
                }
                if self.peek() == &Tok::LParen {
                    if let Some(func) = AggFn::from_name(&word) {
                        return self.parse_aggregate(func, start);
                    }
                    if is_keyword(&word) {
                        return Err(keyword_error(&word, start));
                    }
                    self.bump();
                    self.enter()?;
                    let args = self.parse_items(Tok::RParen, "`,` or `)`");
                    self.leave();
                    let (args, end) = args?;
                    return Ok(Expr { kind: ExprKind::Call(word, args), span: start.to(end) });
                }
                if is_keyword(&word) {
                    return Err(keyword_error(&word, start));
                }
                if word == "id" {
                    return Ok(Expr { kind: ExprKind::Var("id"), span: start });
                }
                if word == "at" && self.in_where > 0 {
                    return Ok(Expr { kind: ExprKind::Var("at"), span: start });
                }
                Ok(Expr { kind: ExprKind::Path(vec![PathSeg::Key(word)]), span: start })
            }
            Tok::Currency(c) => {
                Err(Diagnostic::at(ErrorKind::SyntaxError, start, format!("currency `{c}` must follow an amount")))
            }
            _ => Err(self.unexpected("an expression")),
        }
    }

    fn parse_items(&mut self, close: Tok, what: &str) -> PResult<(Vec<Expr>, Span)> {
        let saved = std::mem::replace(&mut self.filter_top, false);
        let r = self.parse_items_inner(close, what);
        self.filter_top = saved;
        r
    }

    fn parse_items_inner(&mut self, close: Tok, what: &str) -> PResult<(Vec<Expr>, Span)> {
        let mut items = Vec::new();
        loop {
            if *self.peek() == close {
                return Ok((items, self.bump().span));
            }
            items.push(self.parse_or()?);
            if *self.peek() == close {
                return Ok((items, self.bump().span));
            }
            if self.peek() != &Tok::Comma {
                return Err(self.unexpected(what));
            }
            self.bump();
        }
    }

    fn parse_aggregate(&mut self, func: AggFn, start: Span) -> PResult<Expr> {
        self.bump(); // (
        let t = self.bump();
        let event = match t.tok {
            Tok::Ident(name) if !is_keyword(&name) => name,
            Tok::Str(name) => name,
            other => {
                return Err(Diagnostic::at(
                    ErrorKind::SyntaxError,
                    t.span,
                    format!("expected an event name in `{}(…)`, found {}", func.name(), other.describe()),
                ))
            }
        };
        let mut path = Vec::new();
        while self.peek() == &Tok::Dot {
            self.bump();
            let t = self.bump();
            match t.tok {
                Tok::Ident(name) => path.push(PathSeg::Key(name)),
                other => {
                    return Err(Diagnostic::at(
                        ErrorKind::SyntaxError,
                        t.span,
                        format!("expected a property name, found {}", other.describe()),
                    ))
                }
            }
        }
        let mut filter = None;
        if self.eat_kw("where") {
            self.in_where += 1;
            let saved = std::mem::replace(&mut self.filter_top, true);
            let f = self.parse_or();
            self.filter_top = saved;
            self.in_where -= 1;
            filter = Some(Box::new(f?));
        }
        let mut within = None;
        if self.eat_kw("within") {
            within = Some(self.parse_window()?.0);
        }
        let end = self.expect(Tok::RParen, "`where`, `within` or `)`")?;
        Ok(Expr { kind: ExprKind::Agg { func, event, path, filter, within }, span: start.to(end) })
    }
}

fn lit(l: Literal, span: Span) -> Expr {
    Expr { kind: ExprKind::Lit(l), span }
}

fn check_depth(depth: usize, at: Span) -> PResult<()> {
    if depth > limits::MAX_TREE_DEPTH {
        return Err(Diagnostic::at(
            ErrorKind::LimitExceeded,
            at,
            format!(
                "the rule is nested deeper than {} levels (each operator of an arithmetic chain like `a + b + c` nests one level)",
                limits::MAX_TREE_DEPTH
            ),
        ));
    }
    Ok(())
}

/// The whole tree: chains are checked as they grow, but other nodes (`not`, calls, aggregates)
/// can still stack on top of a chain near the limit.
fn check_tree_depth(e: &Expr, at: Span) -> PResult<()> {
    check_depth(e.depth(), at)
}

fn binary(op: Op, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span.to(rhs.span);
    Expr { kind: ExprKind::Op(op, vec![lhs, rhs]), span }
}

fn push_flat(args: &mut Vec<Expr>, e: Expr, op: Op) {
    match e.kind {
        ExprKind::Op(inner, sub) if inner == op => args.extend(sub),
        kind => args.push(Expr { kind, span: e.span }),
    }
}

fn parse_i64(digits: &str, negative: bool, span: Span) -> PResult<i64> {
    let text = if negative { format!("-{digits}") } else { digits.to_string() };
    text.parse::<i64>().map_err(|_| {
        Diagnostic::at(
            ErrorKind::NumberOutOfRange,
            span,
            format!("integer `{text}` does not fit in 64 bits (−9223372036854775808 … 9223372036854775807)"),
        )
    })
}

fn check_decimal(text: &str, span: Span) -> PResult<()> {
    let digits = text.bytes().filter(u8::is_ascii_digit).skip_while(|b| *b == b'0').count();
    if digits > 28 {
        return Err(Diagnostic::at(
            ErrorKind::NumberOutOfRange,
            span,
            format!("decimal `{text}` has more than 28 significant digits"),
        ));
    }
    Ok(())
}

fn keyword_error(word: &str, span: Span) -> Diagnostic {
    Diagnostic::at(
        ErrorKind::SyntaxError,
        span,
        format!("unexpected keyword `{word}` where an expression was expected"),
    )
}

fn window_error(span: Span, tok: &Tok) -> Diagnostic {
    Diagnostic::at(
        ErrorKind::SyntaxError,
        span,
        format!(
            "expected a window (a duration such as `30d`, or today, yesterday, this_week, last_week, this_month, last_month), found {}",
            tok.describe()
        ),
    )
}
