//! `segcore reconcile` with causes (SPEC §25): loads each side's registry, data and identity map,
//! lets the core classify every difference, and prints a terminal table, JSON or an HTML page.

use std::collections::HashMap;
use std::path::Path;

use segcore::reconcile::{
    reconcile as core_reconcile, Cause, Difference, IdentityMap, ProfileIndex, Reconciliation, SideInput,
};
use segcore::{ErrorKind, EvalContext, Profile, Registry};

use crate::io::{self, core_error, error, CliResult, Format};
use crate::out;
use crate::reconcile_cmd::{allowed, read_id_file, ReconcileArgs};

/// Keeps the rows whose `column` (an id) `keep` accepts.
fn keep_rows(
    batches: Vec<arrow_array::RecordBatch>,
    column: &str,
    keep: &dyn Fn(&str) -> bool,
    source: &Path,
) -> CliResult<Vec<arrow_array::RecordBatch>> {
    use arrow_array::cast::AsArray;
    use arrow_schema::DataType;
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        let Some(col) = b.column_by_name(column) else { return Ok(vec![b]) };
        let mask: arrow_array::BooleanArray = match col.data_type() {
            DataType::Utf8 => col.as_string::<i32>().iter().map(|v| Some(v.is_some_and(keep))).collect(),
            DataType::LargeUtf8 => col.as_string::<i64>().iter().map(|v| Some(v.is_some_and(keep))).collect(),
            DataType::Utf8View => col.as_string_view().iter().map(|v| Some(v.is_some_and(keep))).collect(),
            DataType::Int64 => col
                .as_primitive::<arrow_array::types::Int64Type>()
                .iter()
                .map(|v| Some(v.is_some_and(|v| keep(&v.to_string()))))
                .collect(),
            // Another id type: the core's reader reports it; keep every row.
            _ => {
                out.push(b);
                continue;
            }
        };
        if mask.true_count() > 0 {
            out.push(
                arrow_select::filter::filter_record_batch(&b, &mask)
                    .map_err(|e| format!("{}: {e}", source.display()))?,
            );
        }
    }
    Ok(out)
}

/// A side's profiles — only those `wanted` accepts when given (a reconciliation with both exports
/// reads nothing but the differing entities).
fn load_profiles(
    path: &Path,
    events: Option<&Path>,
    args: &ReconcileArgs,
    reg: &Registry,
    wanted: Option<&dyn Fn(&str) -> bool>,
) -> CliResult<Vec<Profile>> {
    let cols = args.why.columns.columns();
    if Format::detect(path, None)? == Format::Parquet {
        let read = reg.program().read_set();
        let mut profiles = crate::parquet_io::read_profiles_for(path, &read, &cols)?;
        let mut event_batches = events.map(|e| crate::parquet_io::read_events_for(e, &read, &cols)).transpose()?;
        if let Some(keep) = wanted {
            profiles = keep_rows(profiles, &cols.id, keep, path)?;
            if let (Some(ev), Some(p)) = (event_batches.take(), events) {
                event_batches = Some(keep_rows(ev, &cols.entity_id, keep, p)?);
            }
        }
        return segcore::ingest_arrow::profiles_from_batches(
            &profiles,
            event_batches.as_deref(),
            &cols,
            &reg.program().read_set(),
        )
        .map_err(|e| core_error(&path.display().to_string(), &e));
    }
    let events = match events {
        Some(e) => io::read_events(e, Format::detect(e, None)?, &cols)?,
        None => Vec::new(),
    };
    let mut profiles = io::read_profiles(path, Format::detect(path, None)?, events, &cols)?;
    if let Some(keep) = wanted {
        profiles.retain(|p| keep(p.id()));
    }
    Ok(profiles)
}

fn as_of(text: Option<&str>, flag: &str) -> CliResult<Option<i64>> {
    text.map(|t| segcore::parse_as_of(t).map_err(|e| core_error(flag, &e))).transpose()
}

/// One evaluation beside a flip: (setting label, text trace, HTML trace).
type Explained = (String, String, String);

/// A finished reconciliation with what the report shows.
struct Report<'a> {
    args: &'a ReconcileArgs,
    r: Reconciliation,
    /// Explained examples: (difference index, label, explanation text, html) per cause.
    examples: Vec<(usize, Vec<Explained>)>,
    identity: Option<IdentityMap>,
    conflicts: Vec<(String, String)>,
    limit: Option<u64>,
    passed: bool,
}

pub fn reconcile(args: &ReconcileArgs) -> CliResult<()> {
    let w = &args.why;
    let schema = crate::load_schema(w.schema.as_deref())?;
    let reg_a = w.segments.as_deref().map(|d| crate::load_registry(d, schema.as_ref())).transpose()?;
    let reg_b = w.segments_b.as_deref().map(|d| crate::load_registry(d, schema.as_ref())).transpose()?;
    let seg_a = w.segment.clone();
    let seg_b = w.segment_b.clone().or_else(|| seg_a.clone());
    for (reg, seg, flag) in
        [(&reg_a, &seg_a, "--segment"), (&reg_b.as_ref().or(reg_a.as_ref()).cloned(), &seg_b, "--segment-b")]
    {
        if let (Some(reg), Some(seg)) = (reg, seg) {
            if reg.get(seg).is_none() {
                return Err(error(ErrorKind::UnknownSegment, format!("{flag} {seg}: no such segment in the registry")));
            }
        }
    }
    if reg_a.is_some() && seg_a.is_none() {
        return Err(error(ErrorKind::InvalidContext, "--segments needs --segment (the segment A follows)"));
    }
    let fx = crate::load_fx(w.fx.as_deref())?;
    let identity = w.identity.load()?;
    let read = |p: &Path| -> CliResult<Option<Vec<String>>> {
        if p.as_os_str() == "-" {
            return Ok(None);
        }
        let set = read_id_file(p, &args.ids)?;
        crate::reconcile_cmd::warn(&set);
        Ok(Some(set.ids))
    };
    let (claimed_a, claimed_b) = (read(&args.a)?, read(&args.b)?);
    // With both exports given, only the differing entities' data is read.
    let wanted = match (&claimed_a, &claimed_b) {
        (Some(a), Some(b)) => Some(segcore::reconcile::difference_ids(a, b, identity.as_ref())),
        _ => None,
    };
    let keep = |id: &str| -> bool {
        let w = wanted.as_ref().expect("only called with a wanted set");
        w.contains(identity.as_ref().map_or(id, |m| m.canonical(id)))
    };
    let keep_ref: Option<&dyn Fn(&str) -> bool> = if wanted.is_some() { Some(&keep) } else { None };
    let any_reg = reg_a.as_ref().or(reg_b.as_ref());
    let mut conflicts = Vec::new();
    let mut load = |p: Option<&Path>, e: Option<&Path>| -> CliResult<Option<Vec<Profile>>> {
        let (Some(p), Some(reg)) = (p, any_reg) else { return Ok(None) };
        let profiles = load_profiles(p, e, args, reg, keep_ref)?;
        Ok(Some(match &identity {
            Some(map) => {
                let (merged, c) = map.merge_profiles(profiles);
                conflicts.extend(c);
                merged
            }
            None => profiles,
        }))
    };
    let data_a = load(w.profiles.as_deref(), w.events.as_deref())?;
    let data_b = load(w.profiles_b.as_deref(), w.events_b.as_deref())?;
    fn index(d: &Option<Vec<Profile>>) -> Option<ProfileIndex<'_>> {
        d.as_ref().map(|ps| ps.iter().map(|p| (p.id(), p)).collect::<HashMap<_, _>>())
    }
    let (index_a, index_b) = (index(&data_a), index(&data_b));
    let a = SideInput {
        claimed: claimed_a.as_deref(),
        definition: reg_a.as_ref().zip(seg_a.as_deref()),
        as_of: as_of(w.as_of.as_deref(), "--as-of")?,
        fx: Some(&fx),
        profiles: index_a.as_ref(),
    };
    let b = SideInput {
        claimed: claimed_b.as_deref(),
        definition: reg_b.as_ref().or(reg_a.as_ref()).zip(seg_b.as_deref()),
        as_of: as_of(w.as_of_b.as_deref(), "--as-of-b")?,
        fx: Some(&fx),
        profiles: index_b.as_ref(),
    };
    let r = core_reconcile(&a, &b, identity.as_ref()).map_err(|e| core_error("reconcile", &e))?;
    // Explained examples: the two evaluations on either side of the flip.
    let mut examples = Vec::new();
    for cause in [Cause::Definition, Cause::Time, Cause::Data] {
        for (i, d) in r.differences.iter().enumerate().filter(|(_, d)| d.cause == cause).take(w.examples) {
            examples.push((i, explain_flip(d, &a, &b)?));
        }
    }
    let union = r.count_a + r.count_b - r.both;
    let differing = r.differing() as u64;
    let limit = args.max_diff.as_deref().map(|s| allowed(s, union)).transpose()?;
    let passed = limit.is_none_or(|l| differing <= l);
    let report = Report { args, r, examples, identity, conflicts, limit, passed };
    if let Some(path) = &args.html {
        let html = html(&report);
        use std::io::Write as _;
        let mut file = crate::output::OutputFile::create(path)?;
        file.writer.write_all(html.as_bytes()).map_err(|e| file.error(format!("cannot write: {e}")))?;
        file.commit()?;
    }
    if args.json {
        productln!("{}", serde_json::to_string_pretty(&json(&report)).unwrap_or_default())?;
    } else {
        out::product(&table(&report))?;
    }
    if passed {
        Ok(())
    } else {
        errln!("segcore: the sets differ by {differing} ids, more than --max-diff allows ({})", limit.unwrap_or(0));
        Err(String::new())
    }
}

/// The evaluations on either side of the step that flipped: (label, text, html) × 2.
fn explain_flip<'a>(d: &Difference, a: &SideInput<'a>, b: &SideInput<'a>) -> CliResult<Vec<Explained>> {
    let (Some((ra, sa)), Some((rb, sb))) = (a.definition.or(b.definition), b.definition.or(a.definition)) else {
        return Ok(Vec::new());
    };
    let (ta, tb) = (a.as_of.or(b.as_of).unwrap_or(0), b.as_of.or(a.as_of).unwrap_or(0));
    let (pa, pb) = (a.profiles.or(b.profiles), b.profiles.or(a.profiles));
    let fx = a.fx.cloned().unwrap_or_default();
    // (registry, segment, data, as_of, label) before and after the flip.
    type Step<'s> = (&'s Registry, &'s str, Option<&'s ProfileIndex<'s>>, i64, String);
    let ts = |t: i64| segcore::binding::format_timestamp(t);
    let steps: [Step<'_>; 2] = match d.cause {
        Cause::Definition => [(ra, sa, pa, ta, format!("A's {sa}")), (rb, sb, pa, ta, format!("B's {sb}"))],
        Cause::Time => [(rb, sb, pa, ta, format!("at {}", ts(ta))), (rb, sb, pa, tb, format!("at {}", ts(tb)))],
        _ => [(rb, sb, pa, tb, "A's data".into()), (rb, sb, pb, tb, "B's data".into())],
    };
    let mut out = Vec::new();
    for (reg, seg, data, at, label) in steps {
        let cx = EvalContext::new(at).with_fx(fx.clone());
        match data.and_then(|m| m.get(d.id.as_str())) {
            Some(p) => {
                let e = reg.explain(seg, p, &cx).map_err(|e| core_error(&d.id, &e))?;
                out.push((label, e.to_string(), e.to_html()));
            }
            None => out.push((
                label,
                "no profile in this data: a member of nothing".into(),
                "<p>no profile in this data: a member of nothing</p>".into(),
            )),
        }
    }
    Ok(out)
}

/// The bindings' JSON (`segcore::binding::reconciliation_json`) plus what the CLI knows: sources,
/// explained examples, the identity map, the tolerance.
fn json(rep: &Report<'_>) -> serde_json::Value {
    let r = &rep.r;
    let mut j = segcore::binding::reconciliation_json(r);
    let examples: Vec<serde_json::Value> = rep
        .examples
        .iter()
        .map(|(i, steps)| {
            serde_json::json!({
                "id": r.differences[*i].id,
                "cause": r.differences[*i].cause.as_str(),
                "explain": steps.iter().map(|(l, t, _)| serde_json::json!({"setting": l, "trace": t})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let extra = serde_json::json!({
        "sources": {"a": source(rep, false), "b": source(rep, true)},
        "merged_by_identity": {"a": r.merged_a, "b": r.merged_b},
        "examples": examples,
        "identity": rep.identity.as_ref().map(|m| serde_json::json!({
            "identifiers": m.identifiers(), "components": m.components(),
            "conflicts": m.report().conflict_count, "redundant_pairs": m.report().redundant,
            "attribute_conflicts": rep.conflicts.len(),
        })),
        "max_diff": rep.limit,
        "passed": rep.passed,
    });
    if let (Some(o), serde_json::Value::Object(e)) = (j.as_object_mut(), extra) {
        o.extend(e);
    }
    j
}

/// How a side is named in reports: its file, or what computed it.
fn source(rep: &Report<'_>, b: bool) -> String {
    let (path, seg, at) = if b {
        (
            &rep.args.b,
            rep.args.why.segment_b.as_ref().or(rep.args.why.segment.as_ref()),
            rep.args.why.as_of_b.as_ref().or(rep.args.why.as_of.as_ref()),
        )
    } else {
        (&rep.args.a, rep.args.why.segment.as_ref(), rep.args.why.as_of.as_ref())
    };
    if path.as_os_str() == "-" {
        format!("computed: {} at {}", seg.map_or("?", |s| s.as_str()), at.map_or("?", |s| s.as_str()))
    } else {
        path.display().to_string()
    }
}

fn jaccard(r: &Reconciliation) -> f64 {
    let union = r.count_a + r.count_b - r.both;
    if union == 0 {
        1.0
    } else {
        r.both as f64 / union as f64
    }
}

fn table(rep: &Report<'_>) -> String {
    use std::fmt::Write as _;
    let r = &rep.r;
    let mut t = String::new();
    let _ = writeln!(t, "A  {:>10}  {}", r.count_a, source(rep, false));
    let _ = writeln!(t, "B  {:>10}  {}", r.count_b, source(rep, true));
    let _ = writeln!(t, "in both      {:>8}   Jaccard {:.4}", r.both, jaccard(r));
    if let Some(m) = &rep.identity {
        let _ = writeln!(
            t,
            "identity map {} identifiers in {} components ({} conflicting); merged {} id(s) of A, {} of B",
            m.identifiers(),
            m.components(),
            m.report().conflict_count,
            r.merged_a,
            r.merged_b
        );
    }
    let _ = writeln!(t, "\n{:<12} {:>8} {:>8}  examples", "cause", "only A", "only B");
    for c in Cause::ALL {
        let (na, nb) = (
            r.differences.iter().filter(|d| d.cause == c && d.only_a).count(),
            r.differences.iter().filter(|d| d.cause == c && !d.only_a).count(),
        );
        if na + nb == 0 {
            continue;
        }
        let ex: Vec<&str> =
            r.differences.iter().filter(|d| d.cause == c).take(rep.args.show.min(5)).map(|d| d.raw.as_str()).collect();
        let _ = writeln!(t, "{:<12} {na:>8} {nb:>8}  {}", c.as_str(), ex.join(", "));
    }
    for (i, steps) in &rep.examples {
        let d = &r.differences[*i];
        let _ = writeln!(t, "\n{} — {} (only in {}):", d.raw, d.cause.as_str(), if d.only_a { "A" } else { "B" });
        if let Some(c) = &d.change {
            let _ = writeln!(
                t,
                "  membership {} at {} ({})",
                c.transition().unwrap_or("changes"),
                segcore::binding::format_timestamp(c.at),
                c.cause.kind.as_str()
            );
        }
        for (label, text, _) in steps {
            let _ = writeln!(t, "  {label}:");
            for line in text.lines() {
                let _ = writeln!(t, "    {line}");
            }
        }
    }
    if let Some(l) = rep.limit {
        let verdict = if rep.passed { "ok" } else { "FAILED" };
        let _ = writeln!(
            t,
            "\nmax diff {} = {l}: {} differ — {verdict}",
            rep.args.max_diff.as_deref().unwrap_or(""),
            r.differing()
        );
    }
    t
}

const COLORS: [(&str, &str); 5] = [
    ("identity", "#8e8e8e"),
    ("definition", "#d1495b"),
    ("time", "#edae49"),
    ("data", "#00798c"),
    ("unexplained", "#30638e"),
];

fn html(rep: &Report<'_>) -> String {
    use std::fmt::Write as _;
    let esc = segcore::binding::html_escape;
    let r = &rep.r;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>segcore reconcile</title><style>{}</style></head><body>",
        crate::report::CSS
    );
    let _ = write!(
        h,
        "<h1>Reconciliation</h1><table class=\"kv\"><tr><th>A</th><td>{}</td><td class=\"n\">{}</td></tr><tr><th>B</th><td>{}</td><td class=\"n\">{}</td></tr><tr><th>in both</th><td></td><td class=\"n\">{}</td></tr><tr><th>Jaccard</th><td></td><td class=\"n\">{:.4}</td></tr></table>",
        esc(&source(rep, false)),
        r.count_a,
        esc(&source(rep, true)),
        r.count_b,
        r.both,
        jaccard(r)
    );
    if let Some(l) = rep.limit {
        let _ = write!(
            h,
            "<p class=\"{}\">max diff {l}: {} differ — {}</p>",
            if rep.passed { "ok" } else { "bad" },
            r.differing(),
            if rep.passed { "within tolerance" } else { "FAILED" }
        );
    }
    // Differences per cause as one horizontal stacked bar.
    let total = r.differences.len().max(1) as f64;
    let _ = write!(h, "<h2>Differences by cause</h2><svg id=\"causes\" width=\"720\" height=\"70\" role=\"img\" aria-label=\"differences by cause\">");
    let mut x = 0.0;
    for (c, n) in r.by_cause() {
        let color = COLORS.iter().find(|(k, _)| *k == c.as_str()).map_or("#555", |(_, v)| v);
        let w = 700.0 * n as f64 / total;
        if n > 0 {
            let _ = write!(h, "<rect x=\"{:.1}\" y=\"5\" width=\"{w:.1}\" height=\"30\" fill=\"{color}\"><title>{}: {n}</title></rect>", 10.0 + x, c.as_str());
        }
        x += w;
    }
    let mut lx = 10.0;
    for (c, n) in r.by_cause() {
        let color = COLORS.iter().find(|(k, _)| *k == c.as_str()).map_or("#555", |(_, v)| v);
        let _ = write!(h, "<rect x=\"{lx}\" y=\"48\" width=\"12\" height=\"12\" fill=\"{color}\"/><text x=\"{}\" y=\"58\" font-size=\"12\">{} {n}</text>", lx + 16.0, c.as_str());
        lx += 140.0;
    }
    h.push_str("</svg>");
    let _ = write!(h, "<h2>Explained examples</h2>");
    for (i, steps) in &rep.examples {
        let d = &r.differences[*i];
        let _ = write!(
            h,
            "<h3>{} — {} (only in {})</h3><div class=\"pair\">",
            esc(&d.raw),
            d.cause.as_str(),
            if d.only_a { "A" } else { "B" }
        );
        for (label, _, html) in steps {
            let _ = write!(h, "<div><h4>{}</h4>{html}</div>", esc(label));
        }
        h.push_str("</div>");
    }
    let _ = write!(h, "<h2>Differing ids</h2><table class=\"rows\"><tr><th>id</th><th>canonical</th><th>only in</th><th>cause</th></tr>");
    for d in r.differences.iter().take(1000) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.raw),
            esc(&d.id),
            if d.only_a { "A" } else { "B" },
            d.cause.as_str()
        );
    }
    h.push_str("</table>");
    if r.differences.len() > 1000 {
        let _ = write!(h, "<p>… and {} more (see --json)</p>", r.differences.len() - 1000);
    }
    h.push_str("</body></html>\n");
    h
}
