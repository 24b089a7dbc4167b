//! `segcore fmt`: definition files rewritten in canonical form (fields in canonical order, the
//! rule formatted by the core's printer). The comment block at the top of a YAML file is kept;
//! comments elsewhere are not.

use std::path::{Path, PathBuf};

use segcore::{Definition, Segment};

use crate::io::CliResult;
use crate::out;
use crate::output::OutputFile;

fn yaml_str(s: &str) -> String {
    // JSON strings are valid YAML scalars and need no further rules.
    let mut out = String::new();
    segcore::binding::write_str(&mut out, s);
    out
}

fn plain_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b'+'))
        && !matches!(s, "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~")
}

fn scalar(s: &str) -> String {
    if plain_ok(s) && s.parse::<f64>().is_err() {
        s.to_string()
    } else {
        yaml_str(s)
    }
}

/// The canonical YAML text of a definition.
pub fn canonical_yaml(def: &Definition, rule: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!("id: {}\n", scalar(&def.id)));
    out.push_str(&format!("version: {}\n", scalar(&def.version)));
    for (k, v) in [("name", &def.name), ("description", &def.description), ("owner", &def.owner)] {
        if !v.is_empty() {
            out.push_str(&format!("{k}: {}\n", yaml_str(v)));
        }
    }
    out.push_str(&format!("status: {}\n", def.status.as_str()));
    for (k, v) in [("effective_from", def.effective_from), ("effective_until", def.effective_until)] {
        if let Some(t) = v {
            out.push_str(&format!("{k}: {}\n", yaml_str(&segcore::binding::format_timestamp(t))));
        }
    }
    out.push_str(&format!("timezone: {}\n", scalar(&def.timezone)));
    out.push_str(&format!("currency: {}\n", scalar(&def.currency)));
    if !def.tags.is_empty() {
        let mut tags = def.tags.clone();
        tags.sort();
        tags.dedup();
        let items: Vec<String> = tags.iter().map(|t| scalar(t)).collect();
        out.push_str(&format!("tags: [{}]\n", items.join(", ")));
    }
    out.push_str("rule: |\n");
    for line in rule.lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The canonical JSON-file text of a definition (pretty, canonical key order).
fn canonical_json_file(def: &Definition, rule: &str) -> String {
    let mut d = def.clone();
    d.rule = rule.to_string();
    let mut fields: Vec<(String, serde_json::Value)> =
        vec![("id".into(), d.id.clone().into()), ("version".into(), d.version.clone().into())];
    for (k, v) in [("name", &d.name), ("description", &d.description), ("owner", &d.owner)] {
        if !v.is_empty() {
            fields.push((k.into(), v.clone().into()));
        }
    }
    fields.push(("status".into(), d.status.as_str().into()));
    for (k, v) in [("effective_from", d.effective_from), ("effective_until", d.effective_until)] {
        if let Some(t) = v {
            fields.push((k.into(), segcore::binding::format_timestamp(t).into()));
        }
    }
    fields.push(("timezone".into(), d.timezone.clone().into()));
    fields.push(("currency".into(), d.currency.clone().into()));
    if !d.tags.is_empty() {
        let mut tags = d.tags.clone();
        tags.sort();
        tags.dedup();
        fields.push(("tags".into(), tags.into()));
    }
    fields.push(("rule".into(), d.rule.clone().into()));
    let mut out = String::from("{\n");
    for (i, (k, v)) in fields.iter().enumerate() {
        out.push_str(&format!("  {}: {}", yaml_str(k), v));
        out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
    }
    out.push_str("}\n");
    out
}

fn files(paths: &[PathBuf]) -> CliResult<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| crate::output::io_error(p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
                .collect();
            entries.sort();
            out.extend(entries);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// The file as it is, as `fmt` writes it, and whether its rule text changes (else only the
/// metadata layout does).
fn format_file(path: &Path) -> CliResult<(String, String, bool)> {
    // The core reads only regular files of bounded size; the text is re-read for its comments.
    let def = Definition::from_file(path).map_err(|e| e.to_string())?;
    let original = crate::io::read_document(path, segcore::ErrorKind::InvalidDefinition)?;
    let ast = Segment::parse_rule(&def.rule).map_err(|e| e.with_origin(&path.display().to_string()).to_string())?;
    let rule = segcore::binding::print_rule(&ast);
    let rule_changes = def.rule.trim() != rule;
    let text = if path.extension().and_then(|e| e.to_str()) == Some("json") {
        canonical_json_file(&def, &rule)
    } else {
        // The comment block at the top of a file (its documentation) is kept.
        let header: String = original
            .lines()
            .take_while(|l| l.starts_with('#') || l.trim().is_empty())
            .filter(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        header + &canonical_yaml(&def, &rule)
    };
    Ok((original, text, rule_changes))
}

/// Runs `segcore fmt`.
pub fn fmt(paths: &[PathBuf], check: bool, stdout: bool, rule: Option<&str>) -> CliResult<()> {
    if let Some(rule) = rule {
        let ast = Segment::parse_rule(rule).map_err(|e| e.to_string())?;
        return productln!("{}", segcore::binding::print_rule(&ast));
    }
    if paths.is_empty() {
        return Err("give definition files or folders to format, or --rule TEXT".into());
    }
    let mut unformatted = 0;
    for path in files(paths)? {
        let (original, text, rule_changes) = format_file(&path)?;
        if stdout {
            out::product(&text)?;
        } else if original != text {
            if check {
                unformatted += 1;
                let what = if rule_changes {
                    "the rule"
                } else {
                    "the metadata layout only (fmt writes every key in one order and style)"
                };
                reportln!("would reformat {}: {what}", path.display())?;
            } else {
                // Through a symlink the target is rewritten; the file keeps its permissions.
                let mut file = OutputFile::create(&path)?;
                std::io::Write::write_all(&mut file.writer, text.as_bytes())
                    .map_err(|e| file.error(format!("cannot write: {e}")))?;
                file.commit()?;
                reportln!("formatted {}", path.display())?;
            }
        }
    }
    if unformatted > 0 {
        return Err(format!(
            "{unformatted} file(s) are not formatted; run `segcore fmt` on them (it rewrites whole files: \
             comments at the top are kept, metadata is written in canonical order)"
        ));
    }
    Ok(())
}
