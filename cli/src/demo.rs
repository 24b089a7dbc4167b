//! `segcore demo`: bundled segments that replay the seeds' scenarios, a generated dataset, and the
//! same batch job as `segcore eval` over it.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use crate::io::CliResult;
use crate::output::OutputFile;

/// The bundled definitions: (file name, contents).
pub const SEGMENTS: &[(&str, &str)] = &[
    ("campaign_audience.yaml", include_str!("demo/campaign_audience.yaml")),
    ("churn_risk.yaml", include_str!("demo/churn_risk.yaml")),
    ("high_value.yaml", include_str!("demo/high_value.yaml")),
    ("holdout.yaml", include_str!("demo/holdout.yaml")),
    ("lookalike.yaml", include_str!("demo/lookalike.yaml")),
    ("marketing_consent.yaml", include_str!("demo/marketing_consent.yaml")),
    ("modern_app.yaml", include_str!("demo/modern_app.yaml")),
    ("new_users.yaml", include_str!("demo/new_users.yaml")),
    ("r1_pro_adults.yaml", include_str!("demo/r1_pro_adults.yaml")),
    ("r2_repeat_buyers.yaml", include_str!("demo/r2_repeat_buyers.yaml")),
    ("returning_users.yaml", include_str!("demo/returning_users.yaml")),
];

/// The demo entity schema.
pub const SCHEMA: &str = include_str!("demo_schema.yaml");

/// FX quotes of the demo run.
pub const FX: &str = "{\n  \"EUR/USD\": \"1.0842\",\n  \"USD/EUR\": \"0.9223\"\n}\n";

/// The demo's evaluation instant.
pub const AS_OF: &str = "2026-03-15T12:00:00Z";

/// SplitMix64: a tiny deterministic generator, so every machine generates the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn ts(micros: i64) -> String {
    segcore::binding::format_timestamp(micros)
}

/// The format of the demo's data files (and its membership table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DataFormat {
    /// profiles.parquet, events.parquet → memberships.parquet (the columnar engine).
    Parquet,
    /// profiles.jsonl, events.jsonl → memberships.jsonl (one JSON object per line).
    Jsonl,
}

impl DataFormat {
    fn ext(self) -> &'static str {
        match self {
            DataFormat::Parquet => "parquet",
            DataFormat::Jsonl => "jsonl",
        }
    }
}

/// One generated profile.
struct ProfileRow {
    id: String,
    age: Option<i64>,
    country: &'static str,
    plan: &'static str,
    ltv: i64,
    signup_at: i64,
    churn_score: f64,
    embedding: Vec<f64>,
    app_version: String,
    email: String,
    /// `marketing`, `updated_at`.
    consent: Option<(bool, i64)>,
}

/// One generated event: entity id, name, at, then the properties of its kind.
struct EventRow<'a> {
    entity: &'a str,
    at: i64,
    kind: EventKind,
}

enum EventKind {
    Purchase { amount: String, currency: &'static str, sku: String },
    Login { device: &'static str },
    PageView { path: &'static str },
}

/// Where generated rows go: the same rows, in the same order, whatever the format.
trait Sink {
    fn profile(&mut self, p: &ProfileRow) -> CliResult<()>;
    fn event(&mut self, e: &EventRow<'_>) -> CliResult<()>;
    fn finish(self: Box<Self>) -> CliResult<()>;
}

struct JsonlSink {
    profiles: OutputFile,
    events: OutputFile,
}

fn write_err(e: std::io::Error) -> String {
    crate::io::error(segcore::ErrorKind::Io, format!("writing demo data: {e}"))
}

impl Sink for JsonlSink {
    fn profile(&mut self, p: &ProfileRow) -> CliResult<()> {
        let mut attrs = serde_json::Map::new();
        if let Some(age) = p.age {
            attrs.insert("age".into(), age.into());
        }
        attrs.insert("country".into(), p.country.into());
        attrs.insert("plan".into(), p.plan.into());
        attrs.insert("ltv".into(), p.ltv.into());
        attrs.insert("signup_at".into(), ts(p.signup_at).into());
        attrs.insert("churn_score".into(), p.churn_score.into());
        attrs.insert("embedding".into(), p.embedding.clone().into());
        attrs.insert("app_version".into(), p.app_version.clone().into());
        attrs.insert("email".into(), p.email.clone().into());
        if let Some((marketing, updated)) = p.consent {
            attrs.insert("consent".into(), serde_json::json!({"marketing": marketing, "updated_at": ts(updated)}));
        }
        let profile = serde_json::json!({"id": p.id, "attributes": attrs});
        writeln!(self.profiles.writer, "{profile}").map_err(write_err)
    }
    fn event(&mut self, e: &EventRow<'_>) -> CliResult<()> {
        let (name, props) = match &e.kind {
            EventKind::Purchase { amount, currency, sku } => {
                ("purchase", serde_json::json!({"amount": {"amount": amount, "currency": currency}, "sku": sku}))
            }
            EventKind::Login { device } => ("login", serde_json::json!({"device": device})),
            EventKind::PageView { path } => ("page_view", serde_json::json!({"path": path})),
        };
        let row = serde_json::json!({"entity_id": e.entity, "name": name, "at": ts(e.at), "properties": props});
        writeln!(self.events.writer, "{row}").map_err(write_err)
    }
    fn finish(self: Box<Self>) -> CliResult<()> {
        self.profiles.commit()?;
        self.events.commit()
    }
}

/// Columns of the Parquet files, built as rows arrive. Times are UTC timestamps; money a
/// struct `{amount, currency}` (the amount as exact decimal text); `consent.updated_at` stays
/// text, as in the JSONL files, so both formats hold the same values.
struct ParquetSink {
    dir: std::path::PathBuf,
    p: parquet_rows::Profiles,
    e: parquet_rows::Events,
}

mod parquet_rows {
    use std::sync::Arc;

    use arrow_array::builder::*;
    use arrow_array::{ArrayRef, RecordBatch};
    use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};

    fn ts_type() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    }

    pub struct Profiles {
        pub id: StringBuilder,
        pub age: Int64Builder,
        pub country: StringBuilder,
        pub plan: StringBuilder,
        pub ltv: Int64Builder,
        pub signup_at: TimestampMicrosecondBuilder,
        pub churn_score: Float64Builder,
        pub embedding: ListBuilder<Float64Builder>,
        pub app_version: StringBuilder,
        pub email: StringBuilder,
        pub consent: StructBuilder,
    }

    fn consent_fields() -> Fields {
        Fields::from(vec![
            Field::new("marketing", DataType::Boolean, true),
            Field::new("updated_at", DataType::Utf8, true),
        ])
    }

    impl Profiles {
        pub fn new() -> Profiles {
            Profiles {
                id: StringBuilder::new(),
                age: Int64Builder::new(),
                country: StringBuilder::new(),
                plan: StringBuilder::new(),
                ltv: Int64Builder::new(),
                signup_at: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
                churn_score: Float64Builder::new(),
                embedding: ListBuilder::new(Float64Builder::new()),
                app_version: StringBuilder::new(),
                email: StringBuilder::new(),
                consent: StructBuilder::from_fields(consent_fields(), 0),
            }
        }
        pub fn schema() -> Arc<Schema> {
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Utf8, false),
                Field::new("age", DataType::Int64, true),
                Field::new("country", DataType::Utf8, true),
                Field::new("plan", DataType::Utf8, true),
                Field::new("ltv", DataType::Int64, true),
                Field::new("signup_at", ts_type(), true),
                Field::new("churn_score", DataType::Float64, true),
                Field::new("embedding", DataType::List(Arc::new(Field::new("item", DataType::Float64, true))), true),
                Field::new("app_version", DataType::Utf8, true),
                Field::new("email", DataType::Utf8, true),
                Field::new("consent", DataType::Struct(consent_fields()), true),
            ]))
        }
        pub fn batch(&mut self) -> Result<RecordBatch, arrow_schema::ArrowError> {
            let columns: Vec<ArrayRef> = vec![
                Arc::new(self.id.finish()),
                Arc::new(self.age.finish()),
                Arc::new(self.country.finish()),
                Arc::new(self.plan.finish()),
                Arc::new(self.ltv.finish()),
                Arc::new(self.signup_at.finish()),
                Arc::new(self.churn_score.finish()),
                Arc::new(self.embedding.finish()),
                Arc::new(self.app_version.finish()),
                Arc::new(self.email.finish()),
                Arc::new(self.consent.finish()),
            ];
            RecordBatch::try_new(Profiles::schema(), columns)
        }
    }

    pub struct Events {
        pub entity_id: StringBuilder,
        pub name: StringDictionaryBuilder<arrow_array::types::Int32Type>,
        pub at: TimestampMicrosecondBuilder,
        pub amount: StructBuilder,
        pub sku: StringBuilder,
        pub device: StringBuilder,
        pub path: StringBuilder,
    }

    fn money_fields() -> Fields {
        Fields::from(vec![Field::new("amount", DataType::Utf8, true), Field::new("currency", DataType::Utf8, true)])
    }

    impl Events {
        pub fn new() -> Events {
            Events {
                entity_id: StringBuilder::new(),
                name: StringDictionaryBuilder::new(),
                at: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
                amount: StructBuilder::from_fields(money_fields(), 0),
                sku: StringBuilder::new(),
                device: StringBuilder::new(),
                path: StringBuilder::new(),
            }
        }
        pub fn schema() -> Arc<Schema> {
            let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
            Arc::new(Schema::new(vec![
                Field::new("entity_id", DataType::Utf8, false),
                Field::new("name", dict, false),
                Field::new("at", ts_type(), false),
                Field::new("amount", DataType::Struct(money_fields()), true),
                Field::new("sku", DataType::Utf8, true),
                Field::new("device", DataType::Utf8, true),
                Field::new("path", DataType::Utf8, true),
            ]))
        }
        pub fn batch(&mut self) -> Result<RecordBatch, arrow_schema::ArrowError> {
            let columns: Vec<ArrayRef> = vec![
                Arc::new(self.entity_id.finish()),
                Arc::new(self.name.finish()),
                Arc::new(self.at.finish()),
                Arc::new(self.amount.finish()),
                Arc::new(self.sku.finish()),
                Arc::new(self.device.finish()),
                Arc::new(self.path.finish()),
            ];
            RecordBatch::try_new(Events::schema(), columns)
        }
    }
}

impl Sink for ParquetSink {
    fn profile(&mut self, p: &ProfileRow) -> CliResult<()> {
        let c = &mut self.p;
        c.id.append_value(&p.id);
        c.age.append_option(p.age);
        c.country.append_value(p.country);
        c.plan.append_value(p.plan);
        c.ltv.append_value(p.ltv);
        c.signup_at.append_value(p.signup_at);
        c.churn_score.append_value(p.churn_score);
        c.embedding.values().append_slice(&p.embedding);
        c.embedding.append(true);
        c.app_version.append_value(&p.app_version);
        c.email.append_value(&p.email);
        let (marketing, updated) = match p.consent {
            Some((m, u)) => (Some(m), Some(ts(u))),
            None => (None, None),
        };
        use arrow_array::builder::{BooleanBuilder, StringBuilder};
        let consent = &mut c.consent;
        if let Some(b) = consent.field_builder::<BooleanBuilder>(0) {
            b.append_option(marketing);
        }
        if let Some(b) = consent.field_builder::<StringBuilder>(1) {
            b.append_option(updated);
        }
        consent.append(p.consent.is_some());
        Ok(())
    }
    fn event(&mut self, e: &EventRow<'_>) -> CliResult<()> {
        use arrow_array::builder::StringBuilder;
        let c = &mut self.e;
        c.entity_id.append_value(e.entity);
        c.at.append_value(e.at);
        let (name, money, sku, device, path) = match &e.kind {
            EventKind::Purchase { amount, currency, sku } => {
                ("purchase", Some((amount.as_str(), *currency)), Some(sku.as_str()), None, None)
            }
            EventKind::Login { device } => ("login", None, None, Some(*device), None),
            EventKind::PageView { path } => ("page_view", None, None, None, Some(*path)),
        };
        c.name.append_value(name);
        if let Some(b) = c.amount.field_builder::<StringBuilder>(0) {
            b.append_option(money.map(|m| m.0));
        }
        if let Some(b) = c.amount.field_builder::<StringBuilder>(1) {
            b.append_option(money.map(|m| m.1));
        }
        c.amount.append(money.is_some());
        c.sku.append_option(sku);
        c.device.append_option(device);
        c.path.append_option(path);
        Ok(())
    }
    fn finish(mut self: Box<Self>) -> CliResult<()> {
        let fail = |e: arrow_schema::ArrowError| crate::io::error(segcore::ErrorKind::Io, format!("demo data: {e}"));
        let profiles = self.p.batch().map_err(fail)?;
        let events = self.e.batch().map_err(fail)?;
        crate::parquet_io::write(&self.dir.join("profiles.parquet"), parquet_rows::Profiles::schema(), [profiles])?;
        crate::parquet_io::write(&self.dir.join("events.parquet"), parquet_rows::Events::schema(), [events])
    }
}

/// Writes `profiles.<ext>` and `events.<ext>` with `n` profiles; returns the event count.
pub fn generate(dir: &Path, n: usize, seed: u64, format: DataFormat) -> CliResult<usize> {
    let mut sink: Box<dyn Sink> = match format {
        DataFormat::Jsonl => Box::new(JsonlSink {
            profiles: OutputFile::create(&dir.join("profiles.jsonl"))?,
            events: OutputFile::create(&dir.join("events.jsonl"))?,
        }),
        DataFormat::Parquet => Box::new(ParquetSink {
            dir: dir.to_path_buf(),
            p: parquet_rows::Profiles::new(),
            e: parquet_rows::Events::new(),
        }),
    };
    let as_of = segcore::parse_as_of(AS_OF).map_err(|e| e.to_string())?;
    let day = 86_400_000_000i64;
    let mut rng = Rng(seed);
    let mut event_count = 0usize;
    let countries = ["US", "US", "US", "CA", "GB", "GB", "DE", "FR", "ES", "BR", "JP"];
    let seed_vec = [0.12, 0.80, 0.35, 0.46];
    for i in 0..n {
        let id = format!("u{i:06}");
        let age = (!rng.chance(0.05)).then(|| 14 + rng.below(66) as i64);
        let country = rng.pick(&countries);
        let plan = rng.pick(&["free", "free", "pro", "team"]);
        let ltv = rng.below(2000) as i64;
        // Signups cluster around as_of's week so the New York calendar boundary matters.
        let signup_at = as_of - (rng.below(60) as i64) * day / 3 - rng.below(day as u64) as i64;
        let churn_score = (rng.unit() * 1000.0).round() / 1000.0;
        let near = rng.chance(0.04);
        let embedding: Vec<f64> = seed_vec
            .iter()
            .map(|x| {
                let noise = if near { (rng.unit() - 0.5) * 0.1 } else { rng.unit() * 1.6 - 0.8 };
                ((x + noise) * 1000.0f64).round() / 1000.0
            })
            .collect();
        let pre = if rng.chance(0.1) { "-beta.1" } else { "" };
        let app_version = format!("2.{}.{}{pre}", rng.below(6), rng.below(10));
        let email = format!("{id}@example.com");
        let consent = (!rng.chance(0.1)).then(|| {
            let updated = as_of - (rng.below(500) as i64) * day;
            (rng.chance(0.7), updated)
        });
        let p =
            ProfileRow { id, age, country, plan, ltv, signup_at, churn_score, embedding, app_version, email, consent };
        sink.profile(&p)?;
        let big_spender = rng.chance(0.2);
        for _ in 0..rng.below(9) {
            let at = as_of - rng.below(180 * day as u64) as i64;
            let cents = if big_spender { 5_000 + rng.below(40_000) } else { 500 + rng.below(9_000) };
            let currency = if rng.chance(0.35) { "EUR" } else { "USD" };
            let amount = format!("{}.{:02}", cents / 100, cents % 100);
            let sku = format!("sku-{}", rng.below(50));
            sink.event(&EventRow { entity: &p.id, at, kind: EventKind::Purchase { amount, currency, sku } })?;
            event_count += 1;
        }
        for _ in 0..rng.below(13) {
            let at = as_of - rng.below(60 * day as u64) as i64;
            let device = rng.pick(&["ios", "android", "web"]);
            sink.event(&EventRow { entity: &p.id, at, kind: EventKind::Login { device } })?;
            event_count += 1;
        }
        for _ in 0..rng.below(5) {
            let at = as_of - rng.below(30 * day as u64) as i64;
            let path = rng.pick(&["/", "/pricing", "/docs", "/cart"]);
            sink.event(&EventRow { entity: &p.id, at, kind: EventKind::PageView { path } })?;
            event_count += 1;
        }
    }
    sink.finish()?;
    Ok(event_count)
}

/// Writes the bundled segments, schema and FX table into `dir`.
pub fn write_inputs(dir: &Path) -> CliResult<()> {
    let seg_dir = dir.join("segments");
    std::fs::create_dir_all(&seg_dir).map_err(|e| crate::output::io_error(&seg_dir, e))?;
    for (name, text) in SEGMENTS {
        std::fs::write(seg_dir.join(name), text).map_err(|e| crate::output::io_error(Path::new(name), e))?;
    }
    std::fs::write(dir.join("schema.yaml"), SCHEMA)
        .map_err(|e| crate::output::io_error(Path::new("schema.yaml"), e))?;
    std::fs::write(dir.join("fx.json"), FX).map_err(|e| crate::output::io_error(Path::new("fx.json"), e))?;
    Ok(())
}

/// Runs the whole demo.
pub fn run(dir: &Path, n: usize, format: DataFormat) -> CliResult<()> {
    let t0 = Instant::now();
    write_inputs(dir)?;
    let ext = format.ext();
    errln!("segcore demo: generating {n} profiles with events in {} ({ext}) …", dir.display());
    let events = generate(dir, n, 0x5E6C_0DE5, format)?;
    errln!("  generated {n} profiles and {events} events in {:.1}s", t0.elapsed().as_secs_f64());
    let args = crate::EvalArgs {
        segments: dir.join("segments"),
        schema: Some(dir.join("schema.yaml")),
        profiles: dir.join(format!("profiles.{ext}")),
        events: Some(dir.join(format!("events.{ext}"))),
        as_of: AS_OF.to_string(),
        fx: Some(dir.join("fx.json")),
        out: dir.join(format!("memberships.{ext}")),
        format: None,
        input_format: None,
        keep_going: false,
        errors: None,
        chunk_rows: 262_144,
        identity: crate::reconcile_cmd::IdentityArgs {
            identity: None,
            prefer: Vec::new(),
            unique: Vec::new(),
            strict_identity: false,
        },
        columns: crate::ColumnArgs {
            id_column: "id".into(),
            entity_column: "entity_id".into(),
            name_column: "name".into(),
            at_column: "at".into(),
        },
    };
    crate::eval_command(&args)?;
    reportln!("\nDefinitions: {0}/segments  ·  data: {0}/profiles.{ext}, events.{ext}  ·  FX: fx.json", dir.display())?;
    reportln!("Next: segcore explain --segments {0}/segments --segment high_value --profiles {0}/profiles.{ext} --events {0}/events.{ext} --entity u000042 --as-of {AS_OF} --fx {0}/fx.json", dir.display())
}
