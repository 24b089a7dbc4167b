//! Case splitting for imports (SPEC §29 "Two values in, three values out"): atoms (a read is
//! null, a boolean read is true, a segcore predicate holds), guards (conjunctions of atoms with a
//! polarity, closed under what the atoms imply), and the final membership as a simplified
//! disjunction of guards printed with *total* leaves — `x is null`, `coalesce(P, false)` — so the
//! imported rule is never UNKNOWN and every `not` in it is exact.

use std::collections::{BTreeMap, HashMap};

/// What an atom says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Atom {
    /// The read at this segcore path is null or missing.
    Null(String),
    /// The boolean read at this path is `true` (its null case is split off first).
    True(String),
    /// A segcore predicate; it can be UNKNOWN only when one of its reads is null.
    Pred(String),
}

/// Interned atoms, each with the segcore paths it reads: a `True`/`Pred` atom that holds implies
/// each of its reads is not null.
#[derive(Debug, Default)]
pub(crate) struct Atoms {
    list: Vec<(Atom, Vec<String>)>,
    index: HashMap<Atom, usize>,
    by_read: HashMap<String, Vec<usize>>,
}

impl Atoms {
    pub(crate) fn intern(&mut self, atom: Atom, reads: Vec<String>) -> usize {
        if let Some(&i) = self.index.get(&atom) {
            return i;
        }
        let i = self.list.len();
        for r in &reads {
            self.by_read.entry(r.clone()).or_default().push(i);
        }
        self.index.insert(atom.clone(), i);
        self.list.push((atom, reads));
        i
    }

    fn null_of(&self, path: &str) -> Option<usize> {
        self.index.get(&Atom::Null(path.to_string())).copied()
    }
}

/// A conjunction of atoms with polarities; `None` from [`Guard::with`] is a contradiction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Guard(BTreeMap<usize, bool>);

impl Guard {
    /// This guard and `atom = value`, with what follows from it: a null read makes every
    /// predicate over it false; a predicate that holds makes its reads not null.
    pub(crate) fn with(&self, atoms: &Atoms, atom: usize, value: bool) -> Option<Guard> {
        let mut g = self.clone();
        let mut work = vec![(atom, value)];
        while let Some((a, v)) = work.pop() {
            match g.0.get(&a) {
                Some(&old) if old == v => continue,
                Some(_) => return None,
                None => {
                    g.0.insert(a, v);
                }
            }
            let (kind, reads) = &atoms.list[a];
            match (kind, v) {
                (Atom::Null(p), true) => {
                    for &b in atoms.by_read.get(p).into_iter().flatten() {
                        if b != a {
                            work.push((b, false));
                        }
                    }
                }
                (Atom::True(_) | Atom::Pred(_), true) => {
                    for r in reads {
                        if let Some(n) = atoms.null_of(r) {
                            work.push((n, false));
                        }
                    }
                }
                _ => {}
            }
        }
        Some(g)
    }

    /// The guard closed under every atom's implications, including atoms interned after some
    /// of its literals were set; `None` if that exposes a contradiction.
    pub(crate) fn closed(&self, atoms: &Atoms) -> Option<Guard> {
        let mut g = Guard::default();
        for (&a, &v) in &self.0 {
            g = g.with(atoms, a, v)?;
        }
        Some(g)
    }

    fn subset_of(&self, other: &Guard) -> bool {
        self.0.iter().all(|(a, v)| other.0.get(a) == Some(v))
    }
}

/// Simplifies a disjunction of guards without changing its meaning: drops guards another one
/// subsumes, and resolves `(C ∧ x) ∨ (C' ∧ ¬x)` with C ⊆ C' to `(C ∧ x) ∨ C'`.
pub(crate) fn simplify(mut cubes: Vec<Guard>) -> Vec<Guard> {
    loop {
        let mut changed = false;
        // Subsumption (and duplicates): a cube that contains another is redundant.
        let mut keep: Vec<Guard> = Vec::with_capacity(cubes.len());
        for c in cubes {
            if keep.iter().any(|k| k.subset_of(&c)) {
                changed = true;
                continue;
            }
            let before = keep.len();
            keep.retain(|k| !c.subset_of(k));
            changed |= keep.len() != before;
            keep.push(c);
        }
        cubes = keep;
        // Self-subsuming resolution.
        'outer: for i in 0..cubes.len() {
            for j in 0..cubes.len() {
                if i == j {
                    continue;
                }
                let (a, b) = (&cubes[i], &cubes[j]);
                let mut flip = None;
                for (&k, &v) in &a.0 {
                    match b.0.get(&k) {
                        Some(&w) if w == v => {}
                        Some(_) if flip.is_none() => flip = Some(k),
                        _ => {
                            flip = None;
                            break;
                        }
                    }
                }
                // Every literal of `a` but one is in `b`, and that one is negated in `b`.
                if let Some(k) = flip {
                    if a.0.iter().filter(|(&x, _)| x != k).all(|(x, v)| b.0.get(x) == Some(v)) {
                        cubes[j].0.remove(&k);
                        changed = true;
                        break 'outer;
                    }
                }
            }
        }
        if !changed {
            return cubes;
        }
    }
}

/// The segcore paths the disjunction reads.
pub(crate) fn reads(atoms: &Atoms, cubes: &[Guard]) -> std::collections::BTreeSet<String> {
    cubes.iter().flat_map(|c| c.0.keys()).flat_map(|&a| atoms.list[a].1.iter().cloned()).collect()
}

/// The disjunction as rule text with total leaves, common literals factored out
/// (`a and (b or c)` rather than `(a and b) or (a and c)`).
pub(crate) fn render(atoms: &Atoms, cubes: &[Guard]) -> String {
    let cubes: Vec<Vec<String>> = cubes.iter().map(|c| render_cube(atoms, c)).collect();
    print(&factor(cubes), false)
}

enum Tree {
    Lit(String),
    And(Vec<Tree>),
    Or(Vec<Tree>),
}

fn factor(mut cubes: Vec<Vec<String>>) -> Tree {
    if cubes.is_empty() {
        return Tree::Lit("false".into());
    }
    if cubes.iter().any(Vec::is_empty) {
        return Tree::Lit("true".into());
    }
    if cubes.len() == 1 {
        let lits = cubes.pop().unwrap_or_default();
        return and(lits.into_iter().map(Tree::Lit).collect());
    }
    let common: Vec<String> = cubes[0].iter().filter(|l| cubes.iter().all(|c| c.contains(l))).cloned().collect();
    if !common.is_empty() {
        let rest: Vec<Vec<String>> =
            cubes.iter().map(|c| c.iter().filter(|l| !common.contains(l)).cloned().collect()).collect();
        let mut parts: Vec<Tree> = common.into_iter().map(Tree::Lit).collect();
        match factor(rest) {
            Tree::Lit(t) if t == "true" => {}
            inner => parts.push(inner),
        }
        return and(parts);
    }
    // The literal most cubes share (first in order on a tie), factored out of those cubes.
    let mut best: Option<(&String, usize)> = None;
    for c in &cubes {
        for l in c {
            let n = cubes.iter().filter(|d| d.contains(l)).count();
            if n >= 2 && best.is_none_or(|(_, m)| n > m) {
                best = Some((l, n));
            }
        }
    }
    let Some((lit, _)) = best.map(|(l, n)| (l.clone(), n)) else {
        return or(cubes.into_iter().map(|c| and(c.into_iter().map(Tree::Lit).collect())).collect());
    };
    let (with, without): (Vec<_>, Vec<_>) = cubes.into_iter().partition(|c| c.contains(&lit));
    let with: Vec<Vec<String>> = with.into_iter().map(|c| c.into_iter().filter(|l| *l != lit).collect()).collect();
    let first = and(vec![Tree::Lit(lit), factor(with)]);
    let terms = match factor(without) {
        Tree::Or(mut rest) => {
            rest.insert(0, first);
            rest
        }
        other => vec![first, other],
    };
    or(terms)
}

/// A disjunction with conjuncts shared by several terms pulled out:
/// `(a and x) or (b and x)` → `x and (a or b)`.
fn or(mut terms: Vec<Tree>) -> Tree {
    let conjuncts = |t: &Tree| -> Vec<String> {
        match t {
            Tree::And(ps) => ps.iter().map(|p| print(p, true)).collect(),
            other => vec![print(other, true)],
        }
    };
    'again: loop {
        for i in 0..terms.len() {
            for j in i + 1..terms.len() {
                let (ci, cj) = (conjuncts(&terms[i]), conjuncts(&terms[j]));
                let shared: Vec<String> = ci.iter().filter(|c| cj.contains(c)).cloned().collect();
                if shared.is_empty() {
                    continue;
                }
                // Every term holding all the shared conjuncts joins the group.
                let (group, rest): (Vec<Tree>, Vec<Tree>) = std::mem::take(&mut terms)
                    .into_iter()
                    .partition(|t| shared.iter().all(|c| conjuncts(t).contains(c)));
                let mut remainders = vec![];
                let mut absorbed = false;
                for t in group {
                    let left: Vec<Tree> = match t {
                        Tree::And(ps) => ps.into_iter().filter(|p| !shared.contains(&print(p, true))).collect(),
                        _ => vec![],
                    };
                    if left.is_empty() {
                        absorbed = true; // `x or (x and y)` is `x`
                    }
                    remainders.push(and(left));
                }
                let mut parts: Vec<Tree> = shared.into_iter().map(Tree::Lit).collect();
                if !absorbed {
                    parts.push(or(remainders));
                }
                terms = rest;
                terms.insert(0, and(parts));
                if terms.len() == 1 {
                    break 'again;
                }
                continue 'again;
            }
        }
        break;
    }
    if terms.len() == 1 {
        return terms.pop().unwrap_or(Tree::Lit("false".into()));
    }
    Tree::Or(terms)
}

fn and(mut parts: Vec<Tree>) -> Tree {
    if parts.len() == 1 {
        return parts.pop().unwrap_or(Tree::Lit("true".into()));
    }
    let mut flat = vec![];
    for p in parts {
        match p {
            Tree::And(inner) => flat.extend(inner),
            other => flat.push(other),
        }
    }
    Tree::And(flat)
}

/// Prints with parentheses around an `or` inside an `and` and around an `and` inside an `or`.
fn print(t: &Tree, nested: bool) -> String {
    match t {
        Tree::Lit(s) => s.clone(),
        Tree::And(ps) => {
            let s = ps.iter().map(|p| print(p, true)).collect::<Vec<_>>().join(" and ");
            if nested {
                format!("({s})")
            } else {
                s
            }
        }
        Tree::Or(ps) => {
            let s = ps.iter().map(|p| print(p, true)).collect::<Vec<_>>().join(" or ");
            if nested {
                format!("({s})")
            } else {
                s
            }
        }
    }
}

fn render_cube(atoms: &Atoms, cube: &Guard) -> Vec<String> {
    let implied = |a: usize, v: bool| -> bool {
        // A literal another literal of the cube implies is not printed.
        let (kind, _) = &atoms.list[a];
        cube.0.iter().any(|(&b, &w)| {
            if b == a {
                return false;
            }
            let (bk, breads) = &atoms.list[b];
            match (kind, v, bk, w) {
                // A holding predicate implies its reads are not null.
                (Atom::Null(p), false, Atom::True(_) | Atom::Pred(_), true) => breads.contains(p),
                // A null read implies a predicate over it is false.
                (Atom::True(_) | Atom::Pred(_), false, Atom::Null(p), true) => atoms.list[a].1.contains(p),
                _ => false,
            }
        })
    };
    let mut out = vec![];
    for (&a, &v) in &cube.0 {
        if implied(a, v) {
            continue;
        }
        let (kind, _) = &atoms.list[a];
        out.push(match (kind, v) {
            (Atom::Null(p), true) => format!("{p} is null"),
            (Atom::Null(p), false) => {
                // `x is not null` and `x` not true: the boolean is false.
                let t = atoms.index.get(&Atom::True(p.clone()));
                if let Some(t) = t.filter(|t| cube.0.get(t) == Some(&false)) {
                    let _ = t;
                    format!("coalesce({p} = false, false)")
                } else {
                    format!("{p} is not null")
                }
            }
            (Atom::True(p), true) => format!("coalesce({p}, false)"),
            (Atom::True(p), false) => {
                if atoms.null_of(p).is_some_and(|n| cube.0.get(&n) == Some(&false)) {
                    continue; // printed with its `is not null` above
                }
                format!("not coalesce({p}, false)")
            }
            (Atom::Pred(t), true) => format!("coalesce({t}, false)"),
            (Atom::Pred(t), false) => format!("not coalesce({t}, false)"),
        });
    }
    out
}
