//! Step 3, the review: every problem per cell as `validate` finds it ([`checked`]), paged on
//! the server (a 200,000-row file with 5,000 bad rows sends the page only), filtered by kind;
//! a cell edited in place is written to the corrected copy (`<stem>.corrected.csv` in the
//! working folder, the file the plan and the run read from then on) and the file checked
//! again; the problem rows as CSV; and the hierarchy as a tree, cycles and missing parents
//! marked.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::checked::{self, BadRow, Review};
use super::{ApiError, ApiJson, ApiQuery, Console, blocking, kept};

/// Rows a page shows, unless asked otherwise (at most [`MAX_PER_PAGE`]).
const PER_PAGE: usize = 50;
/// The most rows a page may hold.
const MAX_PER_PAGE: usize = 500;
/// The most top-level organizations the tree lists.
const TREE_ROOTS: usize = 200;
/// The deepest level the tree shows.
const TREE_DEPTH: usize = 12;

/// The step's routes.
pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/api/review", get(page))
        .route("/api/review/cell", post(edit))
        .route("/api/review/problems.csv", get(problems_csv))
        .route("/api/review/tree", get(tree_json))
}

/// Which page, of which kind of problem.
#[derive(Deserialize, Default)]
pub(crate) struct Paging {
    page: Option<usize>,
    per_page: Option<usize>,
    kind: Option<String>,
}

/// The review of the file as the steps before left it, checked now if it was not yet.
pub(crate) async fn current(console: &Arc<Console>) -> Result<Arc<Review>, ApiError> {
    if let Some(review) = console.work().review.clone() {
        return Ok(review);
    }
    let (input, dialect, spec) = console.work().chosen()?;
    let template = console.import.default_template.clone();
    let review = blocking(move || {
        checked::check(&input, &dialect, &spec, template.as_deref()).map_err(ApiError::from)
    })
    .await?;
    let review = Arc::new(review);
    console.work().review = Some(review.clone());
    Ok(review)
}

/// The rows with a problem of `kind` (every row with a problem when `None`).
fn filtered<'r>(review: &'r Review, kind: Option<&str>) -> Vec<&'r BadRow> {
    review
        .bad
        .iter()
        .filter(|row| kind.is_none_or(|k| row.problems.iter().any(|p| p.kind == k)))
        .collect()
}

/// The counts, as the page's live status shows them.
fn summary(review: &Review) -> Value {
    let by_kind: serde_json::Map<String, Value> = review
        .by_kind
        .iter()
        .map(|(k, n)| (k.label().to_string(), (*n).into()))
        .collect();
    json!({
        "file": review.input.file_name().map(|n| n.to_string_lossy().into_owned()),
        "rows": review.rows,
        "valid": review.rows - review.bad.len(),
        "invalid": review.bad.len(),
        "by_kind": by_kind,
    })
}

/// GET `/api/review?page=N&per_page=M&kind=K`: the counts and one page of rows with problems.
async fn page(
    State(console): State<Arc<Console>>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Value>, ApiError> {
    let review = current(&console).await?;
    let kind = paging.kind.as_deref().filter(|k| !k.is_empty());
    let rows = filtered(&review, kind);
    let per_page = paging.per_page.unwrap_or(PER_PAGE).clamp(1, MAX_PER_PAGE);
    let pages = rows.len().div_ceil(per_page).max(1);
    let page = paging.page.unwrap_or(1).clamp(1, pages);
    let items: Vec<&BadRow> = rows
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .copied()
        .collect();
    let mut body = summary(&review);
    body["headers"] = json!(review.headers);
    body["kind"] = json!(kind);
    body["matching"] = rows.len().into();
    body["page"] = page.into();
    body["pages"] = pages.into();
    body["items"] = json!(items);
    Ok(Json(body))
}

/// A cell's new value: the row by its index (as `/api/review` gives it), the column by its
/// position in the header.
#[derive(Deserialize)]
struct Edit {
    index: usize,
    column: usize,
    value: String,
}

/// POST `/api/review/cell`: the value written into the corrected copy, the file checked
/// again; returns the counts and the row as it is now (`row: null` when it has no problem
/// left).
async fn edit(
    State(console): State<Arc<Console>>,
    ApiJson(edit): ApiJson<Edit>,
) -> Result<Json<Value>, ApiError> {
    let review = current(&console).await?;
    if edit.index >= review.rows {
        return Err(ApiError::bad(format!(
            "there is no row {} (the file has {})",
            edit.index, review.rows
        )));
    }
    if edit.column >= review.headers.len() {
        return Err(ApiError::bad(format!(
            "there is no column {} (the file has {})",
            edit.column,
            review.headers.len()
        )));
    }
    if edit.value.contains(['\0']) {
        return Err(ApiError::bad("a value cannot hold a NUL character"));
    }
    let (source, original, hash, dialect, ours, mut edits) = {
        let work = console.work();
        let Some(upload) = &work.file else {
            return Err(ApiError::not_yet("no file yet"));
        };
        let Ok((source, _)) = &upload.read else {
            return Err(ApiError::not_yet("the file cannot be read"));
        };
        (
            source.clone(),
            upload.path.clone(),
            upload.hash,
            upload.dialect.clone(),
            work.corrected.is_some(),
            work.edits.clone(),
        )
    };
    edits
        .entry(edit.index)
        .or_default()
        .insert(edit.column, edit.value.clone());
    let corrected = checked::corrected_path(&original);
    let out = corrected.clone();
    let kept_edits = edits.clone();
    blocking(move || {
        // A file at the copy's name that is not this upload's copy is never replaced.
        if !ours && let kept::Found::Foreign(why) = kept::find(&out, &hash, &dialect) {
            return Err(ApiError::not_yet(why));
        }
        checked::write_corrected(&source, &kept_edits, &out).map_err(ApiError::from)?;
        kept::write(&out, &hash, &dialect, &kept_edits).map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                format!("{}: {e}", kept::record_path(&out).display()),
            )
        })
    })
    .await?;
    console.work().edits = edits;
    {
        console.hold(&corrected);
        let mut work = console.work();
        work.corrected = Some(corrected);
        work.review = None;
        work.plan = None;
    }
    let review = current(&console).await?;
    let row = review.bad.iter().find(|r| r.index == edit.index);
    let mut body = summary(&review);
    body["row"] = json!(row);
    Ok(Json(body))
}

/// GET `/api/review/problems.csv?kind=K`: the rows with problems (of kind K), every cell as
/// in the file, with their line and problems first; a cell a spreadsheet would run as a
/// formula is written as orgimport's own files write it.
async fn problems_csv(
    State(console): State<Arc<Console>>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<impl IntoResponse, ApiError> {
    let review = current(&console).await?;
    let rows = filtered(&review, paging.kind.as_deref().filter(|k| !k.is_empty()));
    let mut writer = crate::input::csv_writer(Vec::new(), b',');
    let mut head = vec!["line".to_string(), "problems".to_string()];
    head.extend(review.headers.iter().cloned());
    let failed = |e: csv::Error| ApiError::bad(e.to_string());
    writer.write_record(&head).map_err(failed)?;
    for row in rows {
        let problems: Vec<String> = row
            .problems
            .iter()
            .map(|p| match &p.column {
                Some(c) => format!("{c}: {}", p.message),
                None => p.message.clone(),
            })
            .collect();
        let mut record = vec![row.line.to_string(), problems.join("; ")];
        record.extend(row.cells.iter().cloned());
        let record: Vec<String> = record
            .iter()
            .map(|c| crate::input::formulas::neutralize(c).into_owned())
            .collect();
        writer.write_record(&record).map_err(failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ApiError::bad(e.to_string()))?;
    let stem = review
        .input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{stem}.problems.csv\""),
            ),
        ],
        bytes,
    ))
}

/// One organization of the tree.
#[derive(serde::Serialize)]
struct Node {
    /// Its line.
    line: u64,
    /// Its name (or id).
    name: String,
    /// `cycle`, `missing parent`, `invalid parent`, or none.
    mark: Option<&'static str>,
    /// Its children.
    children: Vec<Node>,
    /// Children not shown (past the depth shown).
    more: usize,
}

/// The hierarchy: organizations with children, top ones first, and the rows whose parent is
/// missing or a cycle, marked.
fn tree(review: &Review) -> (Vec<Node>, Vec<Node>, usize) {
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    for (child, parent) in &review.parents {
        children.entry(*parent).or_default().push(*child);
    }
    for list in children.values_mut() {
        list.sort_unstable();
    }
    // Each marked row's mark, found once (a lookup per node, not a search).
    let marks: HashMap<usize, &'static str> = review
        .bad
        .iter()
        .filter_map(|row| {
            let mark = row.problems.iter().find_map(|p| match p.kind.as_str() {
                "parent cycle" => Some("cycle"),
                "unknown parent" => Some("missing parent"),
                "invalid parent" => Some("invalid parent"),
                _ => None,
            })?;
            Some((row.index, mark))
        })
        .collect();
    let mark_of = |i: usize| marks.get(&i).copied();
    let lines = &review.lines;
    let mut seen = HashSet::new();
    let node = |i: usize, seen: &mut HashSet<usize>| {
        build_node(i, 0, &children, lines, review, &mark_of, seen)
    };
    let mut roots: Vec<usize> = children
        .keys()
        .filter(|p| !review.parents.contains_key(p))
        .copied()
        .collect();
    roots.sort_unstable();
    let total = roots.len();
    let shown = roots
        .into_iter()
        .take(TREE_ROOTS)
        .map(|i| node(i, &mut seen))
        .collect();
    // Rows that cannot be placed (a cycle, a parent the file lacks), the first of them.
    let marked = review
        .bad
        .iter()
        .filter(|r| matches!(mark_of(r.index), Some("cycle" | "missing parent")))
        .filter(|r| !seen.contains(&r.index))
        .take(TREE_ROOTS)
        .map(|r| Node {
            line: r.line,
            name: review.names.get(r.index).cloned().unwrap_or_default(),
            mark: mark_of(r.index),
            children: Vec::new(),
            more: 0,
        })
        .collect();
    (shown, marked, total)
}

/// The node of row `i`, `depth` levels down.
fn build_node(
    i: usize,
    depth: usize,
    children: &HashMap<usize, Vec<usize>>,
    lines: &[u64],
    review: &Review,
    mark_of: &dyn Fn(usize) -> Option<&'static str>,
    seen: &mut HashSet<usize>,
) -> Node {
    let first = seen.insert(i);
    let kids = children.get(&i).map(Vec::as_slice).unwrap_or_default();
    let (shown, more) = if first && depth < TREE_DEPTH {
        let shown = kids
            .iter()
            .map(|k| build_node(*k, depth + 1, children, lines, review, mark_of, seen))
            .collect();
        (shown, 0)
    } else {
        (Vec::new(), kids.len())
    };
    Node {
        line: lines.get(i).copied().unwrap_or_default(),
        name: review.names.get(i).cloned().unwrap_or_default(),
        mark: if first { mark_of(i) } else { Some("cycle") },
        children: shown,
        more,
    }
}

/// GET `/api/review/tree`: the hierarchy.
async fn tree_json(State(console): State<Arc<Console>>) -> Result<Json<Value>, ApiError> {
    let review = current(&console).await?;
    let (roots, marked, total) = tree(&review);
    Ok(Json(
        json!({ "roots": roots, "marked": marked, "top_level": total }),
    ))
}

/// The step's section, at the first page.
pub(super) fn section(console: &Arc<Console>) -> Markup {
    section_at(console, &Paging::default())
}

/// The step's section at `paging`'s page: the counts, the filter, the rows with their
/// problem cells editable, the download, the tree.
pub(crate) fn section_at(console: &Arc<Console>, paging: &Paging) -> Markup {
    let review = console.work().review.clone();
    html! {
        section #review aria-labelledby="review-title" {
            h2 #review-title { "3. Review" }
            @match review {
                None => p.waiting { "Choose the columns first, then Continue." },
                Some(review) => (body(&review, paging)),
            }
        }
    }
}

/// The review's content.
fn body(review: &Review, paging: &Paging) -> Markup {
    let kind = paging.kind.as_deref().filter(|k| !k.is_empty());
    let rows = filtered(review, kind);
    let per_page = paging.per_page.unwrap_or(PER_PAGE).clamp(1, MAX_PER_PAGE);
    let pages = rows.len().div_ceil(per_page).max(1);
    let page = paging.page.unwrap_or(1).clamp(1, pages);
    let (roots, marked, top_level) = tree(review);
    html! {
        p #review-counts role="status" aria-live="polite" {
            (review.rows) " rows: " (review.rows - review.bad.len()) " valid, "
            (review.bad.len()) " with problems"
        }
        @if !review.bad.is_empty() {
            form #review-filter {
                label for="problem-kind" { "Problem kind" }
                select #problem-kind name="kind" {
                    option value="" selected[kind.is_none()] { "every kind" }
                    @for (k, n) in &review.by_kind {
                        option value=(k.label()) selected[kind == Some(k.label())] {
                            (k.label()) " (" (n) ")"
                        }
                    }
                }
            }
            div.table-scroll {
                table #problems {
                    thead { tr {
                        th scope="col" { "Line" }
                        th scope="col" { "Problems" }
                        @for h in &review.headers { th scope="col" { (h) } }
                    } }
                    tbody {
                        @for row in rows.iter().skip((page - 1) * per_page).take(per_page) {
                            (problem_row(review, row))
                        }
                    }
                }
            }
            nav.pager aria-label="Pages of problems" {
                button type="button" data-page=(page.saturating_sub(1).max(1)) disabled[page == 1] { "Previous page" }
                span { "Page " (page) " of " (pages) }
                button type="button" data-page=((page + 1).min(pages)) disabled[page == pages] { "Next page" }
            }
            p { a href="/api/review/problems.csv" download { "Download the problem rows (CSV)" } }
        }
        button type="button" data-next="plan" { "Continue" }
        h3 { "Hierarchy" }
        @if roots.is_empty() && marked.is_empty() {
            p { "No row names a parent in the file." }
        } @else {
            @if top_level > roots.len() {
                p.note { "The first " (roots.len()) " of " (top_level) " top-level organizations." }
            }
            ul.tree { @for n in &roots { (node_html(n)) } }
            @if !marked.is_empty() {
                h4 { "Rows whose parent cannot be placed" }
                ul.tree { @for n in &marked { (node_html(n)) } }
            }
        }
    }
}

/// A row with problems: its problem cells editable, named `line N COLUMN` (N the sheet's
/// row for a workbook).
fn problem_row(review: &Review, row: &BadRow) -> Markup {
    let at = review.numbering.short(row.line);
    html! {
        tr data-index=(row.index) {
            th scope="row" { (at) }
            td { ul { @for p in &row.problems { li { (p.kind) ": " @if let Some(c) = &p.column { (c) ": " } (p.message) } } } }
            @for (i, cell) in row.cells.iter().enumerate() {
                @if row.problems.iter().any(|p| p.cell == Some(i)) {
                    td.bad {
                        input type="text" value=(cell) data-index=(row.index) data-column=(i)
                            aria-label=(format!("line {} {}", row.line, review.headers[i]));
                    }
                } @else {
                    td { (cell) }
                }
            }
        }
    }
}

/// One organization of the tree, its children under it.
fn node_html(node: &Node) -> Markup {
    html! {
        li {
            span { (node.name) " (line " (node.line) ")" }
            @if let Some(mark) = node.mark { " " strong.mark { (mark) } }
            @if !node.children.is_empty() {
                ul { @for c in &node.children { (node_html(c)) } }
            }
            @if node.more > 0 { " (" (node.more) " more below)" }
        }
    }
}
