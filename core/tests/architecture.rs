//! ARCHITECTURE.md says data flows one way through `core/src`: no module imports a module that
//! (directly or not) imports it. This test reads the sources, takes every `crate::<module>`
//! reference outside tests and comments, and fails naming a cycle if there is one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The module a source file is: its stem, or its folder's name for `mod.rs` and the `sql/` files
/// (one backend, several files). `lib.rs` and `binding.rs` only re-export and are left out.
fn module_of(root: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(root).ok()?;
    let stem = file.file_stem()?.to_str()?;
    let parent = rel.parent().and_then(|p| p.to_str()).unwrap_or("");
    match (parent, stem) {
        ("", "lib" | "binding") => None,
        ("sql", _) => Some("sql".into()),
        (folder, "mod") => Some(folder.to_string()),
        (_, stem) => Some(stem.to_string()),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `crate::name` references in code (not in comments, not in `#[cfg(test)]` modules at the end).
fn references(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + 7..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn no_module_of_the_core_imports_one_that_imports_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let Some(module) = module_of(&root, f) else { continue };
        let refs = references(&std::fs::read_to_string(f).unwrap());
        deps.entry(module.clone()).or_default().extend(refs.into_iter().filter(|r| *r != module));
    }
    // A folder's own `mod.rs` only declares its files: `exec` → `eval` is not a dependency edge
    // worth a cycle (`eval` using `crate::exec::…` would be caught below either way).
    for folder in ["syntax", "check", "exec", "data"] {
        deps.remove(folder);
    }
    assert!(deps.len() > 20, "the source walk found too few modules: {deps:?}");
    // Depth-first search for a back edge; the first cycle found is reported as a path.
    fn visit(
        m: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == m) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m.to_string());
        for d in deps.get(m).into_iter().flatten() {
            if deps.contains_key(d) {
                if let Some(c) = visit(d, deps, stack, done) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in deps.keys() {
        if let Some(cycle) = visit(m, &deps, &mut Vec::new(), &mut done) {
            panic!("module cycle in core/src: {}", cycle.join(" → "));
        }
    }
    // The architecture's direction, spot-checked: the front end never reaches a backend.
    for front in ["lexer", "parser", "ast", "compile", "ir", "ops", "value"] {
        for back in ["eval", "explain", "batch", "sql", "registry", "segment", "program"] {
            assert!(!deps[front].contains(back), "`{front}` refers to `{back}`");
        }
    }
}

#[test]
fn the_walk_sees_real_references() {
    let refs = references("use crate::ops::{compare};\n// crate::sql in a comment\nlet x = crate::time::f();\n");
    assert_eq!(refs, BTreeSet::from(["ops".to_string(), "time".to_string()]));
}
