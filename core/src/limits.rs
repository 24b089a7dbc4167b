//! Hard limits on untrusted input (SPEC §19). Each is enforced with a `limit_exceeded` error.

/// Maximum rule text size in bytes.
pub const MAX_RULE_BYTES: usize = 64 * 1024;
/// Maximum expression nesting depth: parentheses, brackets, calls, `not` and unary minus.
pub const MAX_DEPTH: usize = 64;
/// Maximum depth of a rule's syntax tree ([`crate::ast::Expr::depth`]). Every pass over a rule
/// (compile, canonical JSON, printing, evaluation, explain, SQL) recurses at most this deep, so
/// this bounds their stack use: an arithmetic chain `a + b + c + …` nests one level per operator
/// without any parenthesis, and is refused here rather than overflowing a stack later.
pub const MAX_TREE_DEPTH: usize = 128;
/// Maximum elements in a list literal.
pub const MAX_LIST_LEN: usize = 10_000;
/// Maximum regex pattern source length in bytes.
pub const MAX_REGEX_BYTES: usize = 1024;
/// Maximum `matches` pattern source per rule, all patterns together: compiling a
/// case-insensitive pattern can cost ~0.25 ms per byte, and a rule of many 1 KiB patterns took
/// seconds (found by fuzzing).
pub const MAX_REGEX_BYTES_PER_RULE: usize = 4 * 1024;
/// Maximum compiled regex size in bytes.
pub const MAX_REGEX_COMPILED: usize = 1 << 20;
/// Maximum events per profile.
pub const MAX_EVENTS_PER_PROFILE: usize = 100_000;
/// Maximum definitions per registry.
pub const MAX_DEFINITIONS: usize = 10_000;
/// Maximum size of a definition file in bytes.
pub const MAX_DEFINITION_FILE_BYTES: usize = 1 << 20;
/// Maximum nesting of a data value (attribute, event property, tag, FX value, schema) and of a
/// definition or schema document: every binding refuses deeper values with `limit_exceeded`
/// before any recursive code sees them. Below serde_json's own 128, so a profile document holding
/// a value at the limit still parses.
pub const MAX_VALUE_DEPTH: usize = 100;
/// Maximum size of one input record in bytes (a JSONL line, a CSV row, a profile JSON document):
/// readers stop at the limit instead of buffering an endless line.
pub const MAX_RECORD_BYTES: usize = 32 << 20;
/// Diagnostics of one severity reported per rule; the rest are counted in one more.
pub const MAX_DIAGNOSTICS: usize = 100;
/// Instants one `next_change` or `timeline` query may evaluate (SPEC §22): an `hour(as_of)` rule
/// over the longest span needs under 900,000.
pub const MAX_TIME_STEPS: usize = 2_000_000;
