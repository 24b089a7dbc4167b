//! Membership fingerprints in SQL (SPEC §24): the same `sfp1:` text the core computes, computed
//! by the warehouse over its own table, so nothing is exported to compare two systems.

use super::Dialect;
use crate::reconcile::Key;

/// What to fingerprint.
#[derive(Debug, Clone)]
pub enum FingerprintSource<'a> {
    /// A table (or view) of member ids: every row whose `filter` (a SQL condition, if any) holds
    /// is one member. Ids may be strings or integers (an integer is its decimal text).
    Table {
        /// The table, written as given (may be qualified).
        table: &'a str,
        /// The id column.
        id_column: &'a str,
        /// An optional SQL condition selecting the member rows (written as given).
        filter: Option<&'a str>,
    },
    /// The membership query segcore generated (its SQL text, [`super::SqlQuery::sql`]): one
    /// fingerprint per segment of its program, over the rows with `member` true (a segment with
    /// no members gets the empty set's fingerprint).
    Membership(&'a str),
}

/// A query returning SPEC §24's fingerprint text: one row, column `fingerprint` (for a table), or
/// one row per segment, columns `segment_id, fingerprint` ordered by segment (for a membership
/// query). Exact for fewer than 2³¹ members per fingerprint (64-bit sums).
///
/// ```
/// use segcore::reconcile::Key;
/// use segcore::sql::{fingerprint_sql, Dialect, FingerprintSource};
/// let source = FingerprintSource::Table { table: "crm.members", id_column: "user_id", filter: None };
/// let sql = fingerprint_sql(Dialect::Postgres, &Key::default(), &source);
/// assert!(sql.contains("sha256(convert_to(CONCAT('segcore:', CAST(\"user_id\" AS text)), 'UTF8'))"));
/// assert!(sql.contains("'sfp1:14de38cf:'"));
/// ```
pub fn fingerprint_sql(dialect: Dialect, key: &Key, source: &FingerprintSource<'_>) -> String {
    let d = dialect;
    let text = |x: &str| d.int_to_string(x);
    let prefix = d.string(&format!("{}:", key.as_str()));
    let lanes =
        |h: &str| -> String { (0..4).map(|j| format!("{} AS l{j}", d.hex_u32(h, j))).collect::<Vec<_>>().join(", ") };
    let sum = |j: usize| text(&format!("COALESCE(SUM(l{j}), 0)"));
    let result = format!(
        "CONCAT({}, {}, ':', {}, ':', {}, ':', {}, ':', {})",
        d.string(&format!("sfp1:{}:", key.tag_hex())),
        text("COUNT(h)"),
        sum(0),
        sum(1),
        sum(2),
        sum(3)
    );
    match source {
        FingerprintSource::Table { table, id_column, filter } => {
            let id = text(&d.ident(id_column));
            let filter = filter.map(|f| format!("\n    WHERE {f}")).unwrap_or_default();
            format!(
                "SELECT {result} AS fingerprint\nFROM (\n  SELECT h, {}\n  FROM (\n    SELECT {} AS h\n    FROM {table}{filter}\n  ) AS hashed\n) AS lanes",
                lanes("h"),
                d.sha256_hex(&format!("CONCAT({prefix}, {id})")),
            )
        }
        FingerprintSource::Membership(query) => {
            let inner = query.replace('\n', "\n      ");
            format!(
                "SELECT segment_id, {result} AS fingerprint\nFROM (\n  SELECT segment_id, h, {}\n  FROM (\n    SELECT segment_id, CASE WHEN member THEN {} END AS h\n    FROM (\n      {inner}\n    ) AS membership\n  ) AS hashed\n) AS lanes\nGROUP BY segment_id\nORDER BY segment_id",
                lanes("h"),
                d.sha256_hex(&format!("CONCAT({prefix}, {})", text("entity_id"))),
            )
        }
    }
}
