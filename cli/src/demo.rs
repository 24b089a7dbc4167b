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

/// Writes `profiles.jsonl` and `events.jsonl` with `n` profiles; returns the event count.
pub fn generate(dir: &Path, n: usize, seed: u64) -> CliResult<usize> {
    let as_of = segcore::parse_as_of(AS_OF).map_err(|e| e.to_string())?;
    let day = 86_400_000_000i64;
    let mut rng = Rng(seed);
    let mut profiles = OutputFile::create(&dir.join("profiles.jsonl"))?;
    let mut events = OutputFile::create(&dir.join("events.jsonl"))?;
    let mut event_count = 0usize;
    let countries = ["US", "US", "US", "CA", "GB", "GB", "DE", "FR", "ES", "BR", "JP"];
    let seed_vec = [0.12, 0.80, 0.35, 0.46];
    let werr = |e: std::io::Error| crate::io::error(segcore::ErrorKind::Io, format!("writing demo data: {e}"));
    for i in 0..n {
        let id = format!("u{i:06}");
        let mut attrs = serde_json::Map::new();
        if !rng.chance(0.05) {
            attrs.insert("age".into(), (14 + rng.below(66)).into());
        }
        attrs.insert("country".into(), rng.pick(&countries).into());
        attrs.insert("plan".into(), rng.pick(&["free", "free", "pro", "team"]).into());
        attrs.insert("ltv".into(), rng.below(2000).into());
        // Signups cluster around as_of's week so the New York calendar boundary matters.
        let signup = as_of - (rng.below(60) as i64) * day / 3 - rng.below(day as u64) as i64;
        attrs.insert("signup_at".into(), ts(signup).into());
        attrs.insert("churn_score".into(), ((rng.unit() * 1000.0).round() / 1000.0).into());
        let near = rng.chance(0.04);
        let emb: Vec<f64> = seed_vec
            .iter()
            .map(|x| {
                let noise = if near { (rng.unit() - 0.5) * 0.1 } else { rng.unit() * 1.6 - 0.8 };
                ((x + noise) * 1000.0f64).round() / 1000.0
            })
            .collect();
        attrs.insert("embedding".into(), emb.into());
        let pre = if rng.chance(0.1) { "-beta.1" } else { "" };
        attrs.insert("app_version".into(), format!("2.{}.{}{pre}", rng.below(6), rng.below(10)).into());
        attrs.insert("email".into(), format!("{id}@example.com").into());
        if !rng.chance(0.1) {
            let updated = as_of - (rng.below(500) as i64) * day;
            attrs
                .insert("consent".into(), serde_json::json!({"marketing": rng.chance(0.7), "updated_at": ts(updated)}));
        }
        let profile = serde_json::json!({"id": id, "attributes": attrs});
        writeln!(profiles.writer, "{profile}").map_err(werr)?;
        let mut emit = |name: &str, at: i64, props: serde_json::Value| -> CliResult<()> {
            event_count += 1;
            let row = serde_json::json!({"entity_id": id, "name": name, "at": ts(at), "properties": props});
            writeln!(events.writer, "{row}").map_err(werr)
        };
        let big_spender = rng.chance(0.2);
        for _ in 0..rng.below(9) {
            let at = as_of - rng.below(180 * day as u64) as i64;
            let cents = if big_spender { 5_000 + rng.below(40_000) } else { 500 + rng.below(9_000) };
            let cur = if rng.chance(0.35) { "EUR" } else { "USD" };
            let amount = format!("{}.{:02}", cents / 100, cents % 100);
            emit(
                "purchase",
                at,
                serde_json::json!({"amount": {"amount": amount, "currency": cur}, "sku": format!("sku-{}", rng.below(50))}),
            )?;
        }
        for _ in 0..rng.below(13) {
            let at = as_of - rng.below(60 * day as u64) as i64;
            emit("login", at, serde_json::json!({"device": rng.pick(&["ios", "android", "web"])}))?;
        }
        for _ in 0..rng.below(5) {
            let at = as_of - rng.below(30 * day as u64) as i64;
            emit("page_view", at, serde_json::json!({"path": rng.pick(&["/", "/pricing", "/docs", "/cart"])}))?;
        }
    }
    profiles.commit()?;
    events.commit()?;
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
pub fn run(dir: &Path, n: usize) -> CliResult<()> {
    let t0 = Instant::now();
    write_inputs(dir)?;
    errln!("segcore demo: generating {n} profiles with events in {} …", dir.display());
    let events = generate(dir, n, 0x5E6C_0DE5)?;
    errln!("  generated {n} profiles and {events} events in {:.1}s", t0.elapsed().as_secs_f64());
    let args = crate::EvalArgs {
        segments: dir.join("segments"),
        schema: Some(dir.join("schema.yaml")),
        profiles: dir.join("profiles.jsonl"),
        events: Some(dir.join("events.jsonl")),
        as_of: AS_OF.to_string(),
        fx: Some(dir.join("fx.json")),
        out: dir.join("memberships.jsonl"),
        format: None,
        input_format: None,
        keep_going: false,
        errors: None,
        columns: crate::ColumnArgs {
            id_column: "id".into(),
            entity_column: "entity_id".into(),
            name_column: "name".into(),
            at_column: "at".into(),
        },
    };
    crate::eval_command(&args)?;
    reportln!(
        "\nDefinitions: {}/segments  ·  data: {}/profiles.jsonl, events.jsonl  ·  FX: fx.json",
        dir.display(),
        dir.display()
    )?;
    reportln!("Next: segcore explain --segments {0}/segments --segment high_value --profiles {0}/profiles.jsonl --events {0}/events.jsonl --entity u000042 --as-of {AS_OF} --fx {0}/fx.json", dir.display())
}
