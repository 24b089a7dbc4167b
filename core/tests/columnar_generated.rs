//! The columnar engine against the row path on generated data: seeded random Arrow tables
//! (typed columns with nulls, NaN, extreme integers, dictionary strings, timestamps, decimals,
//! several record batches, unsorted events of known and unknown entities) and random rules over
//! every kind of node (kernels and interpreter fallbacks, `and`/`or` short circuits over failing
//! operands, registries with `in_segment`). Each pair must give, cell by cell, what the batch
//! driver gives over the row path's profiles of the same batches: outcome, failure and error
//! kind, and the same first error without `keep_going`.

use std::sync::Arc;

use arrow_array::builder::StringDictionaryBuilder;
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use segcore::batch::{self, BatchOptions, Memberships};
use segcore::ingest::Columns;
use segcore::{columnar, ingest_arrow, Definition, EvalContext, Registry};

mod common;
use common::Rng;

const AS_OF: i64 = 1_773_576_000_000_000; // 2026-03-15T12:00:00Z
const DAY: i64 = 86_400_000_000;
const COUNTRIES: [&str; 5] = ["US", "CA", "GB", "DE", ""];

fn profiles_batch(rng: &mut Rng, first: usize, n: usize) -> RecordBatch {
    let null = |rng: &mut Rng| rng.chance(15);
    let ids: Vec<String> = (first..first + n).map(|i| format!("u{i}")).collect();
    let age: Vec<Option<i64>> = (0..n)
        .map(|_| {
            if null(rng) {
                None
            } else {
                let any = 1 + rng.below(90) as i64;
                Some(*rng.pick(&[0, 17, 18, 30, 65, i64::MAX, i64::MIN, -1, any]))
            }
        })
        .collect();
    let score: Vec<Option<f64>> =
        (0..n)
            .map(|_| {
                if null(rng) {
                    None
                } else {
                    Some(*rng.pick(&[0.5, -0.0, f64::NAN, f64::INFINITY, 10.0, 99.75, 1e300]))
                }
            })
            .collect();
    let vip: Vec<Option<bool>> = (0..n).map(|_| if null(rng) { None } else { Some(rng.chance(50)) }).collect();
    let signup: Vec<Option<i64>> = (0..n)
        .map(
            |_| if null(rng) { None } else { Some(AS_OF - rng.below(400) as i64 * DAY + rng.below(DAY as u64) as i64) },
        )
        .collect();
    let birthday: Vec<Option<i32>> =
        (0..n).map(|_| if null(rng) { None } else { Some(rng.below(20_000) as i32) }).collect();
    let balance: Vec<Option<i128>> =
        (0..n).map(|_| if null(rng) { None } else { Some(rng.below(100_000) as i128 - 20_000) }).collect();
    let mut plan = StringDictionaryBuilder::<Int32Type>::new();
    for _ in 0..n {
        if null(rng) {
            plan.append_null();
        } else {
            plan.append_value(*rng.pick(&["free", "pro", "team"]));
        }
    }
    let country: Vec<Option<&str>> =
        (0..n).map(|_| if null(rng) { None } else { Some(*rng.pick(&COUNTRIES)) }).collect();
    let app: Vec<Option<&str>> = (0..n)
        .map(|_| if null(rng) { None } else { Some(*rng.pick(&["2.3.0", "2.3.0-beta", "10.1.0", "bad", ""])) })
        .collect();
    let mut emb = arrow_array::builder::ListBuilder::new(arrow_array::builder::Float64Builder::new());
    for _ in 0..n {
        if null(rng) {
            emb.append(false);
            continue;
        }
        for _ in 0..rng.below(3) {
            let x = *rng.pick(&[0.0, 0.5, 1.0, -1.0, 2.5]);
            emb.values().append_value(x);
        }
        emb.append(true);
    }
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(StringArray::from(ids))),
        ("age", Arc::new(Int64Array::from(age))),
        ("score", Arc::new(Float64Array::from(score))),
        ("vip", Arc::new(BooleanArray::from(vip))),
        ("signup_at", Arc::new(TimestampMicrosecondArray::from(signup).with_timezone("UTC"))),
        ("birthday", Arc::new(Date32Array::from(birthday))),
        ("balance", Arc::new(Decimal128Array::from(balance).with_precision_and_scale(12, 2).unwrap())),
        ("plan", Arc::new(plan.finish())),
        ("country", Arc::new(StringArray::from(country))),
        ("app", Arc::new(StringArray::from(app))),
        ("emb", Arc::new(emb.finish())),
    ];
    // Some batches lack a column: their rows read it as missing.
    let cols: Vec<(&str, ArrayRef)> = cols.into_iter().filter(|(name, _)| *name == "id" || !rng.chance(5)).collect();
    RecordBatch::try_from_iter(cols).unwrap()
}

fn events_batch(rng: &mut Rng, profiles: usize, n: usize) -> RecordBatch {
    let entity: Vec<String> = (0..n)
        .map(|_| if rng.chance(5) { "nobody".to_string() } else { format!("u{}", rng.below(profiles as u64 + 1)) })
        .collect();
    let name: Vec<&str> = (0..n).map(|_| *rng.pick(&["purchase", "login", "refund"])).collect();
    let at: Vec<i64> = (0..n).map(|_| AS_OF - rng.below(200) as i64 * DAY + rng.below(2 * DAY as u64) as i64).collect();
    let amount: Vec<Option<i64>> = (0..n)
        .map(|_| {
            let any = 1 + rng.below(100) as i64;
            if rng.chance(10) {
                None
            } else {
                Some(*rng.pick(&[5, 10, 250, i64::MAX / 2, any]))
            }
        })
        .collect();
    RecordBatch::try_from_iter([
        ("entity_id", Arc::new(StringArray::from(entity)) as ArrayRef),
        ("name", Arc::new(StringArray::from(name)) as ArrayRef),
        ("at", Arc::new(TimestampMicrosecondArray::from(at).with_timezone("UTC")) as ArrayRef),
        ("amount", Arc::new(Int64Array::from(amount)) as ArrayRef),
    ])
    .unwrap()
}

fn atom(rng: &mut Rng) -> String {
    let n = rng.below(100);
    if rng.chance(35) {
        return rng
            .pick(&[
                "bucket(id, \"s\") < 50",
                "semver(app) >= \"2.3.0\"",
                "semver(app) is null",
                "cosine_similarity(emb, [1.0, 0.5]) > 0.5",
                "euclidean_distance(emb, [0, 1]) < 1.5",
                "abs(score) > 1",
                "round(score, 1) >= 10",
                "-age < -20",
                "country contains \"U\"",
                "plan starts_with \"p\"",
                "country not ends_with \"S\"",
                "age in [18, 30, null]",
                "age not in [0, 17]",
                "hour(signup_at) >= 12",
                "day_of_week(signup_at) = 1",
                "start_of_week(signup_at) < as_of",
                "start_of_month(signup_at) >= \"2026-01-01T00:00:00Z\"",
                "coalesce(score, age, 1) > 5",
                "upper(country) = \"US\"",
                "fold(plan) = \"pro\"",
                "length(country) = 2",
                "length(emb) > 1",
                "timestamp(country) is null",
                "date(signup_at) < \"2026-02-01\"",
                "id = \"u3\"",
                "id starts_with \"u1\"",
                "balance * 2 > 100",
                "age / 0 is null",
                "age - 1 between 10 and 40",
                "birthday within 30d",
                "signup_at + 1d > as_of",
                "as_of - signup_at > 30d",
                "first(purchase).at < as_of - 7d",
                "last(login).at within 30d",
                "first(purchase) is not null",
                "exists(purchase where amount > 100 within 30d)",
                "sum(purchase.amount where amount < 50) > 20",
                "sum(purchase.amount where amount > 0 within 90d) > 1000",
                "first(purchase where amount > 10).amount > 50",
                "last(login where (at within 7d)).at > as_of - 3d",
                "count(purchase where amount > age) >= 1",
                "count(purchase where id starts_with \"u1\") > 0",
                "avg(purchase.amount where amount + 1 > 6) < 100",
                "max(purchase.amount where amount between 5 and 250) = 250",
                "exists(refund where amount is null)",
                "count(purchase where amount * amount > 100 within this_month) >= 1",
                "distinct_count(login.amount where not (amount in [5, 10])) >= 1",
                "last(refund within 14d) is null",
                "first(refund).at before \"2026-03-01T00:00:00Z\"",
                "max(purchase.amount within 60d) >= 250",
                "avg(purchase.amount) > 20",
                "distinct_count(purchase.amount) >= 2",
                "min(login.amount within 30d) < 10",
            ])
            .to_string();
    }
    match rng.below(30) {
        0 => format!("age >= {}", rng.below(70)),
        1 => format!("age = {}", rng.pick(&["18", "30", "null", "30.0", "17.5"])),
        2 => format!("age + 1 > {}", rng.below(70)),
        3 => format!("score < {}", rng.pick(&["10", "10.5", "0", "100"])),
        4 => "score >= age".into(),
        5 => format!("country in [{}]", rng.pick(&[r#""US","CA""#, r#""""#, r#""GB""#])),
        6 => format!("country {} \"US\"", rng.pick(&["=", "!=", "<", ">="])),
        7 => format!("plan = \"{}\"", rng.pick(&["pro", "free"])),
        8 => "plan in [\"pro\", \"team\"]".into(),
        9 => "vip".into(),
        10 => format!("vip = {}", rng.pick(&["true", "false"])),
        11 => format!("signup_at within {}d", 1 + n),
        12 => "signup_at before \"2026-01-01T00:00:00Z\"".into(),
        13 => {
            format!("{} is {}null", rng.pick(&["age", "country", "vip", "nothing", "balance"]), rng.pick(&["", "not "]))
        }
        14 => format!("count(purchase within {}d) >= {}", 1 + n, rng.below(4)),
        15 => format!("exists({})", rng.pick(&["login", "refund", "purchase within 7d", "signup"])),
        16 => format!("count(purchase where amount > {}) >= 1", rng.below(50)),
        17 => format!("sum(purchase.amount within {}d) > 100", 1 + n),
        18 => "balance > 10.5".into(),
        19 => "lower(country) = \"us\"".into(),
        20 => format!("age between {} and {}", rng.below(40), rng.below(80)),
        21 => "birthday before \"1990-01-01\"".into(),
        22 => "days_since(signup_at) < 30".into(),
        23 => "count(login) > count(purchase)".into(),
        24 => format!("country {}matches \"^(US|CA)$\"", rng.pick(&["", "not "])),
        25 => "coalesce(age, 0) > 20".into(),
        26 => "last(purchase).amount > 10".into(),
        27 => "score > 1000000 or score < 1".into(),
        28 => "age * age > 100".into(),
        _ => format!(
            "count(purchase within {}) >= {}",
            rng.pick(&["today", "yesterday", "this_week", "last_week", "this_month", "last_month"]),
            rng.below(3)
        ),
    }
}

fn rule(rng: &mut Rng, depth: u32) -> String {
    if depth == 0 || rng.chance(35) {
        return atom(rng);
    }
    match rng.below(4) {
        0 => format!("not ({})", rule(rng, depth - 1)),
        1 => {
            let k = 2 + rng.below(2);
            (0..k).map(|_| format!("({})", rule(rng, depth - 1))).collect::<Vec<_>>().join(" or ")
        }
        _ => {
            let k = 2 + rng.below(2);
            (0..k).map(|_| format!("({})", rule(rng, depth - 1))).collect::<Vec<_>>().join(" and ")
        }
    }
}

fn cell(m: &Memberships, k: usize, row: usize) -> Result<&'static str, String> {
    if m.failed(k, row) {
        let e = m.errors().iter().find(|e| e.row == row && e.segment == k).unwrap();
        return Err(e.error.kind().as_str().to_string());
    }
    Ok(m.outcomes(k)[row].as_str())
}

/// Every cell of [`columnar::evaluate_chunked`] over the table in chunks of `chunk` rows (outcome,
/// or error kind and text), the unmatched events and the summed members per segment.
type Chunked = (Vec<Vec<Result<String, String>>>, usize, Vec<usize>);

fn chunked(
    program: &segcore::Program,
    profiles: &[RecordBatch],
    events: Option<&[RecordBatch]>,
    cx: &EvalContext,
    opts: &BatchOptions,
    chunk: usize,
) -> Result<Chunked, String> {
    let cols = Columns::default();
    let ids: Vec<RecordBatch> =
        profiles.iter().map(|b| b.project(&[b.schema().index_of("id").unwrap()]).unwrap()).collect();
    let mut stream = profiles.iter().cloned().map(Ok);
    let mut cells: Vec<Vec<Result<String, String>>> = vec![Vec::new(); program.len()];
    let mut rows_seen = 0;
    let run =
        columnar::evaluate_chunked(program, &ids, &mut stream, events, &cols, cx, opts, chunk, &mut |first, m| {
            assert_eq!(first, rows_seen, "chunks arrive in order");
            rows_seen += m.len();
            for (k, column) in cells.iter_mut().enumerate() {
                for row in 0..m.len() {
                    column.push(cell(m, k, row).map(str::to_string));
                }
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    // A failed cell's error, as the whole-table run words it (rows numbered in the whole table).
    for (_, e) in &run.errors {
        cells[e.segment][e.row] = Err(format!("{}", e.error));
    }
    Ok((cells, run.unmatched_events, run.segments.iter().map(|s| s.members).collect()))
}

#[test]
fn generated_rules_over_generated_tables_match_the_row_path() {
    let mut rng = Rng(0x005E_C04E);
    let (tables, rules_per_table) = (250, 404);
    let (mut pairs, mut cells, mut columnar_runs, mut chunked_runs) = (0usize, 0usize, 0usize, 0usize);
    let cols = Columns::default();
    let keep_going = BatchOptions { keep_going: true, ..Default::default() };
    for t in 0..tables {
        let parts = 1 + rng.below(3) as usize;
        let mut profiles = Vec::new();
        let mut n = 0;
        for _ in 0..parts {
            let rows = rng.below(30) as usize;
            profiles.push(profiles_batch(&mut rng, n, rows));
            n += rows;
        }
        let events: Vec<RecordBatch> = (0..1 + rng.below(2))
            .map(|_| {
                let rows = rng.below(120) as usize;
                events_batch(&mut rng, n, rows)
            })
            .collect();
        let events = if rng.chance(10) { None } else { Some(events.as_slice()) };
        let cx =
            EvalContext::parse(if t % 2 == 0 { "2026-03-15T12:00:00Z" } else { "2026-03-31T23:30:00-04:00" }).unwrap();
        for _ in 0..rules_per_table {
            let main = rule(&mut rng, 3);
            let mut defs = vec![Definition::new("base", "1.0.0", rule(&mut rng, 2))];
            let main = match rng.below(4) {
                0 => format!("in_segment(\"base\") and ({main})"),
                1 => format!("not in_segment(\"base\") or ({main})"),
                2 => format!("in_segment(\"base\") or ({main})"),
                _ => main,
            };
            let mut d = Definition::new("main", "1.0.0", main);
            if rng.chance(30) {
                d.timezone = "America/New_York".into();
            }
            defs.push(d);
            let Ok(reg) = Registry::from_definitions(defs, None) else { continue };
            let program = reg.program();
            pairs += 1;
            let rows = ingest_arrow::profiles_from_batches(&profiles, events, &cols, &program.read_set());
            let got = columnar::evaluate(program, &profiles, events, &cols, &cx, &keep_going);
            let (rows, got) = match (rows, got) {
                (Ok(r), Ok(g)) => (r, g),
                (Err(a), Err(b)) => {
                    assert_eq!(a.to_string(), b.to_string());
                    continue;
                }
                (a, b) => panic!("row path {:?}, columnar {:?}", a.err(), b.err()),
            };
            if got.engine() == batch::Engine::Columnar {
                columnar_runs += 1;
            }
            let want = batch::evaluate(program, &rows, &cx, &keep_going).unwrap();
            for k in 0..program.len() {
                for row in 0..rows.len() {
                    assert_eq!(
                        cell(&want, k, row),
                        cell(&got, k, row),
                        "segment {} row {row}: {:?}",
                        program.segments()[k].id(),
                        program.segments()[k].definition().rule
                    );
                    cells += 1;
                }
            }
            // In chunks of a random size: the same cells, errors (rows in the whole table),
            // unmatched events and counts.
            if pairs % 4 == 0 {
                let size = 1 + rng.below(rows.len() as u64 + 2) as usize;
                let (cells, unmatched, members) = chunked(program, &profiles, events, &cx, &keep_going, size).unwrap();
                for (k, column) in cells.iter().enumerate() {
                    assert_eq!(column.len(), rows.len());
                    for (row, c) in column.iter().enumerate() {
                        let whole = match got.errors().iter().find(|e| e.row == row && e.segment == k) {
                            Some(e) => Err(format!("{}", e.error)),
                            None => Ok(got.outcomes(k)[row].as_str().to_string()),
                        };
                        assert_eq!(c, &whole, "chunks of {size}: segment {k} row {row}");
                    }
                }
                assert_eq!(unmatched, got.unmatched_events(), "chunks of {size}");
                assert_eq!(members, got.segments().iter().map(|s| s.members).collect::<Vec<_>>());
                chunked_runs += 1;
            }
            let want = batch::evaluate(program, &rows, &cx, &BatchOptions::default()).map(|_| ());
            let got = columnar::evaluate(program, &profiles, events, &cols, &cx, &BatchOptions::default()).map(|_| ());
            if pairs % 4 == 0 {
                let size = 1 + rng.below(rows.len() as u64 + 2) as usize;
                let whole = got.as_ref().map(|_| ()).map_err(|e| e.to_string());
                let chunks = chunked(program, &profiles, events, &cx, &BatchOptions::default(), size).map(|_| ());
                assert_eq!(whole, chunks, "chunks of {size}: the first error");
            }
            assert_eq!(
                want.map_err(|e| e.to_string()),
                got.map_err(|e| e.to_string()),
                "{:?}",
                program.segments()[1].definition().rule
            );
        }
    }
    println!(
        "columnar vs row path: {pairs} rule/table pairs, {cells} cells identical, {columnar_runs} run columnar, {chunked_runs} also in chunks"
    );
    assert!(pairs >= 100_000 && columnar_runs * 10 >= pairs * 9, "{pairs} pairs, {columnar_runs} columnar");
}

/// Calendar functions are computed once per local day (or hour) per distinct period, with the
/// zone's offset looked up once per UTC hour: instants every 7 minutes over six days around DST
/// transitions (New York both ways, Berlin, Lord Howe's half-hour shift) and in zones whose
/// midnight is not on a UTC hour (Kolkata +05:30, Kathmandu +05:45), and St. John's, whose
/// fall-back at 04:30 UTC makes one local hour key hold two different true hours if the offset
/// were taken as constant over that UTC hour, must give the row path's outcome for every rule
/// and row.
#[test]
fn calendar_functions_around_transitions_match_the_row_path() {
    const MINUTE: i64 = 60_000_000;
    // UTC instants near transitions (the windows reach ±3 days around each).
    let centers = [
        "2026-03-08T07:00:00Z", // New York, spring forward
        "2025-11-02T06:00:00Z", // New York, fall back
        "2026-03-29T01:00:00Z", // Berlin
        "2026-04-05T15:00:00Z", // Lord Howe, +11 -> +10:30
        "2025-10-05T15:30:00Z", // Lord Howe, +10:30 -> +11
        "2025-11-02T04:30:00Z", // St. John's, -02:30 -> -03:30 in the middle of a UTC hour
    ];
    let mut instants: Vec<i64> = Vec::new();
    for c in centers {
        let c = segcore::parse_as_of(c).unwrap();
        instants.extend((-3 * 24 * 60 / 7..=3 * 24 * 60 / 7).map(|k| c + k * 7 * MINUTE));
    }
    let n = instants.len();
    let ids: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
    let profiles = RecordBatch::try_from_iter([
        ("id", Arc::new(StringArray::from(ids)) as ArrayRef),
        ("signup_at", Arc::new(TimestampMicrosecondArray::from(instants).with_timezone("UTC")) as ArrayRef),
    ])
    .unwrap();
    let mut rules: Vec<String> = Vec::new();
    for day in ["2025-10-02", "2025-10-05", "2025-10-06", "2025-11-01", "2025-11-02", "2025-11-03", "2026-03-07"] {
        rules.push(format!("date(signup_at) = \"{day}\""));
    }
    for day in ["2026-03-08", "2026-03-09", "2026-03-28", "2026-03-29", "2026-03-30", "2026-04-05", "2026-04-06"] {
        rules.push(format!("date(signup_at) = \"{day}\""));
    }
    rules.extend(
        [0, 6, 7, 8, 14, 15, 16, 21, 22, 23, 130, 131, 132, 133, 134, 160, 161, 162]
            .map(|k| format!("days_since(signup_at) >= {k}")),
    );
    rules.extend([-23, -22, -21, -20].map(|k| format!("days_since(signup_at) <= {k}")));
    rules.extend((0..24).map(|h| format!("hour(signup_at) = {h}")));
    rules.extend((1..=7).map(|d| format!("day_of_week(signup_at) = {d}")));
    rules.extend([
        "start_of_day(signup_at) > signup_at - 1h".to_string(),
        "start_of_day(signup_at) > signup_at - 30m".to_string(),
        "start_of_week(signup_at) > signup_at - 2d".to_string(),
        "start_of_month(signup_at) > signup_at - 5d".to_string(),
    ]);
    let cx = EvalContext::parse("2026-03-15T12:00:00Z").unwrap();
    let cols = Columns::default();
    let opts = BatchOptions { keep_going: true, ..Default::default() };
    // Typed (the column read as instants) and untyped (coerced row by row): both must agree.
    let typed = segcore::Schema::from_json_str(r#"{"attributes": {"signup_at": "timestamp"}}"#).unwrap();
    let mut varied = 0;
    let zones = [
        "America/New_York",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "America/St_Johns",
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "UTC",
    ];
    for zone in zones {
        let defs: Vec<Definition> = rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut d = Definition::new(format!("s{i:03}"), "1.0.0", r.clone());
                d.timezone = zone.into();
                d
            })
            .collect();
        for schema in [Some(&typed), None] {
            let reg = Registry::from_definitions(defs.clone(), schema).unwrap();
            let program = reg.program();
            let rows =
                ingest_arrow::profiles_from_batches(std::slice::from_ref(&profiles), None, &cols, &program.read_set())
                    .unwrap();
            let want = batch::evaluate(program, &rows, &cx, &opts).unwrap();
            let got = columnar::evaluate(program, std::slice::from_ref(&profiles), None, &cols, &cx, &opts).unwrap();
            assert_eq!(got.engine(), batch::Engine::Columnar);
            for k in 0..program.len() {
                let differ = (0..n).find(|&r| got.outcomes(k)[r] != want.outcomes(k)[r]);
                assert!(
                    differ.is_none(),
                    "{zone} ({}): {} at row {differ:?} (instant {:?})",
                    if schema.is_some() { "typed" } else { "untyped" },
                    program.segments()[k].definition().rule,
                    differ.map(|r| rows[r].attribute("signup_at"))
                );
                let members = want.outcomes(k).iter().filter(|o| o.is_member()).count();
                varied += usize::from(members > 0 && members < n);
            }
        }
    }
    // Most rules split the rows (the comparison is not between two constant columns).
    let pairs = rules.len() * zones.len() * 2;
    assert!(varied > pairs * 2 / 3, "{varied} of {pairs} rule/zone pairs split the rows");
}
