//! Rows that name another row of the file as their parent: references resolved, cycles found,
//! every child placed in the wave after its parent's, children of invalid rows made invalid.

use std::collections::HashMap;

use super::*;
use crate::input::quote::quoted;

/// Resolves parent references to rows of the file, finds cycles, puts every child in the
/// wave after its parent's, and makes children of invalid rows invalid.
pub(super) fn place_children(
    plan: &mut Plan,
    seen: &FirstRows,
    names: &FingerprintMap,
    references: Vec<(usize, String, bool)>,
    report: &mut dyn FnMut(&InvalidRow),
) {
    resolve_references(plan, seen, names, references, report);
    let depth = depths(plan, report);
    place_by_depth(plan, &depth, report);
}

/// Records each child's parent row (by the parent's id, or its name where the row named its
/// parent so), and makes invalid a row that is its own parent or names no row of the file.
fn resolve_references(
    plan: &mut Plan,
    seen: &FirstRows,
    names: &FingerprintMap,
    references: Vec<(usize, String, bool)>,
    report: &mut dyn FnMut(&InvalidRow),
) {
    for (child, reference, named_parent) in references {
        let parent = seen
            .get(fingerprint(&format!("id:{reference}")))
            .or_else(|| {
                named_parent
                    .then(|| names.get(fingerprint(&reference)))
                    .flatten()
            })
            .map(|row| row as usize);
        match parent {
            Some(parent) if parent != child => {
                plan.parents.insert(child, parent);
            }
            Some(_) => {
                let problem = Problem::new(
                    ProblemKind::ParentCycle,
                    None,
                    format!(
                        "the row names itself ({}) as its parent",
                        quoted(&reference)
                    ),
                );
                mark_invalid(plan, child, problem, report);
            }
            None if named_parent => {
                let problem = Problem::new(
                    ProblemKind::MissingParent,
                    Some("parent"),
                    format!(
                        "{} is neither the id nor the name of a row of this file",
                        quoted(&reference)
                    ),
                );
                mark_invalid(plan, child, problem, report);
            }
            // A parent_id that is no row's id names an organization that exists already.
            None => {}
        }
    }
}

/// The depth of each child (a top row is 0), walking up its ancestors; a walk that meets
/// itself is a cycle, whose rows are made invalid.
fn depths(plan: &mut Plan, report: &mut dyn FnMut(&InvalidRow)) -> HashMap<usize, usize> {
    let children: Vec<usize> = {
        let mut c: Vec<usize> = plan.parents.keys().copied().collect();
        c.sort_unstable();
        c
    };
    let mut depth: HashMap<usize, usize> = HashMap::new();
    for &start in &children {
        if depth.contains_key(&start) {
            continue;
        }
        let mut path = vec![start];
        let mut on_path: HashMap<usize, usize> = HashMap::from([(start, 0)]);
        let mut next = loop {
            let current = *path.last().expect("the path is never empty");
            let Some(&parent) = plan.parents.get(&current) else {
                // A top row: depth 0, and the rows below it on the path follow.
                path.pop();
                depth.insert(current, 0);
                break 1;
            };
            if let Some(&d) = depth.get(&parent) {
                break d + 1;
            }
            if let Some(&at) = on_path.get(&parent) {
                let cycle = path.split_off(at);
                let lines: Vec<String> = cycle
                    .iter()
                    .chain(std::iter::once(&cycle[0]))
                    .map(|i| plan.numbering.short(plan.lines[*i]))
                    .collect();
                for &row in &cycle {
                    let problem = Problem::new(
                        ProblemKind::ParentCycle,
                        None,
                        format!("its parents form a cycle: {}", lines.join(" -> ")),
                    );
                    plan.parents.remove(&row);
                    mark_invalid(plan, row, problem, report);
                    depth.insert(row, 0);
                }
                // The rows below the cycle hang from a row that is now invalid.
                break 1;
            }
            on_path.insert(parent, path.len());
            path.push(parent);
        };
        for &row in path.iter().rev() {
            depth.insert(row, next);
            next += 1;
        }
    }
    depth
}

/// Puts every child in the wave of its depth, going down the waves so that the whole
/// subtree of an invalid row is made invalid (naming the parent's problem).
fn place_by_depth(
    plan: &mut Plan,
    depth: &HashMap<usize, usize>,
    report: &mut dyn FnMut(&InvalidRow),
) {
    let mut by_depth: Vec<(usize, usize)> = plan
        .parents
        .keys()
        .map(|c| (depth.get(c).copied().unwrap_or(1), *c))
        .collect();
    by_depth.sort_unstable();
    // For a row invalid only through an ancestor: the ancestor whose own problem it is, and
    // that problem ("line 5: Website: ..."), named once however deep the row is.
    let mut through: HashMap<usize, String> = HashMap::new();
    for &(d, child) in &by_depth {
        let parent = plan.parents[&child];
        let parent_invalid = plan.outcomes.status(parent) == Some(Status::Invalid);
        let child_invalid = plan.outcomes.status(child) == Some(Status::Invalid);
        if parent_invalid && (plan.outcomes.is_unsent(child) || child_invalid) {
            // The parent's problem is named too: the fix is there. A child invalid on its own
            // keeps its message, and gains this one.
            let parent_line = plan.numbering.short(plan.lines[parent]);
            let cause = match through.get(&parent) {
                Some(root) => Some(format!("through {root}")),
                None => own_problem(plan, parent),
            };
            if !child_invalid {
                let root = through.get(&parent).cloned().or_else(|| {
                    let why = own_problem(plan, parent)?;
                    Some(format!("{parent_line}: {why}"))
                });
                if let Some(root) = root {
                    through.insert(child, root);
                }
            }
            let message = match cause {
                Some(cause) => format!("its parent, {parent_line}, is invalid ({cause})"),
                None => format!("its parent, {parent_line}, is invalid"),
            };
            let problem = Problem::new(ProblemKind::InvalidParent, None, message);
            mark_invalid(plan, child, problem, report);
        }
        if plan.outcomes.is_unsent(child) {
            plan.waves.insert(child, d);
            plan.wave_count = plan.wave_count.max(d + 1);
        }
    }
}

/// The problem of the invalid row `row`, as its results cell says it, without its line.
fn own_problem(plan: &Plan, row: usize) -> Option<String> {
    let line = plan.lines[row];
    let error = plan.outcomes.view(row)?.error?;
    let prefix = format!("line {line}: ");
    Some(error.strip_prefix(&prefix).unwrap_or(error).to_string())
}

/// Makes a row invalid for `problem`, adding to the problems it already has.
fn mark_invalid(
    plan: &mut Plan,
    row: usize,
    problem: Problem,
    report: &mut dyn FnMut(&InvalidRow),
) {
    let line = plan.lines[row];
    match plan.outcomes.get(row) {
        Some(mut o) if o.status == Status::Invalid => {
            *plan.problem_counts.entry(problem.kind).or_default() += 1;
            let error = o.error.get_or_insert_with(String::new);
            error.push_str(&format!("; {problem}"));
            plan.outcomes.set(row, &o);
            report(&InvalidRow {
                line,
                problems: std::slice::from_ref(&problem),
            });
        }
        // A row an earlier run created stays created.
        Some(_) => {}
        None => {
            let outcome = invalid(plan, line, std::slice::from_ref(&problem), report);
            plan.outcomes.set(row, &outcome);
        }
    }
}
