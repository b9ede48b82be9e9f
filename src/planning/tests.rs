//! The planner on small files: parent waves, cycles, missing and invalid parents.

use super::*;
use crate::input::{MappingFile, MappingSpec};
use crate::record::{Place, TenantCheck};

/// Plans `csv` (written to a temporary file) with the default mapping and no earlier run.
fn plan_of(csv: &str) -> (Plan, Vec<String>) {
    plan_after(csv, &mut EarlierRuns::default())
}

/// Plans `csv` (written to a temporary file) with the default mapping after `earlier`.
fn plan_after(csv: &str, earlier: &mut EarlierRuns) -> (Plan, Vec<String>) {
    plan_mapped(csv, "", earlier)
}

/// Plans `csv` (written to a temporary file) with the mapping file `toml` after `earlier`.
fn plan_mapped(csv: &str, toml: &str, earlier: &mut EarlierRuns) -> (Plan, Vec<String>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("customers.csv");
    std::fs::write(&path, csv).expect("the file is written");
    let source = Source::settle(&path, &crate::input::Dialect::default()).expect("settled");
    let spec = MappingSpec {
        file: Some(MappingFile::parse(toml, "map.toml").expect("a mapping")),
        overrides: Vec::new(),
    };
    let mapping = source.mapping(&spec).expect("the header maps");
    let mut reported = Vec::new();
    let plan = build(&source, &mapping, earlier, None, &mut |row: &InvalidRow| {
        for problem in row.problems {
            reported.push(format!("line {}: {problem}", row.line));
        }
    })
    .expect("the file is planned");
    (plan, reported)
}

/// The error of row `index`, when it is not to be sent.
fn error_of(plan: &Plan, index: usize) -> Option<&str> {
    plan.outcomes.view(index).and_then(|o| o.error)
}

#[test]
fn children_go_in_the_wave_after_their_parent_whatever_the_row_order() {
    // Line 2 is a grandchild, line 3 a child, line 4 the top row, line 5 a second top row.
    let (plan, reported) = plan_of(
        "name,parent\n\
         grandchild,child\n\
         child,top\n\
         top,\n\
         other,\n",
    );
    assert!(reported.is_empty(), "{reported:?}");
    assert_eq!(plan.to_send, 4);
    assert!((0..plan.outcomes.len()).all(|i| plan.outcomes.is_unsent(i)));
    assert_eq!(plan.parents, HashMap::from([(0, 1), (1, 2)]));
    assert_eq!(plan.waves, HashMap::from([(0, 2), (1, 1)]));
    assert_eq!(plan.wave_count, 3);
    assert_eq!(plan.lines, vec![2, 3, 4, 5]);
}

#[test]
fn a_parent_is_found_by_id_before_name() {
    // `parent` names the row with id `p1`, whose name is something else.
    let (plan, reported) = plan_of(
        "id,name,parent\n\
         p1,Parent,\n\
         c1,Child,p1\n\
         c2,Child 2,Parent\n",
    );
    assert!(reported.is_empty(), "{reported:?}");
    assert_eq!(plan.parents, HashMap::from([(1, 0), (2, 0)]));
    assert_eq!(plan.wave_count, 2);
}

#[test]
fn a_cycle_makes_every_row_on_it_invalid_and_the_rows_below_it_too() {
    let (plan, reported) = plan_of(
        "name,parent\n\
         a,b\n\
         b,a\n\
         below,a\n\
         free,\n",
    );
    for index in [0, 1] {
        let error = error_of(&plan, index).expect("a row on the cycle is invalid");
        assert!(
            error.contains("its parents form a cycle: line 2 -> line 3 -> line 2")
                || error.contains("its parents form a cycle: line 3 -> line 2 -> line 3"),
            "{error}"
        );
    }
    let below = error_of(&plan, 2).expect("a row below the cycle is invalid");
    assert!(below.contains("its parent, line 2, is invalid"), "{below}");
    assert!(plan.outcomes.is_unsent(3), "the free row is sent");
    assert_eq!((plan.to_send, plan.invalid), (1, 3));
    assert_eq!(plan.wave_count, 1);
    assert_eq!(reported.len(), 3, "{reported:?}");
}

#[test]
fn a_row_that_is_its_own_parent_is_invalid() {
    let (plan, _) = plan_of("name,parent\nself,self\n");
    let error = error_of(&plan, 0).expect("invalid");
    assert!(
        error.contains("the row names itself (\"self\") as its parent"),
        "{error}"
    );
    assert_eq!(plan.to_send, 0);
}

#[test]
fn a_parent_that_is_no_row_is_invalid_but_a_parent_id_is_an_existing_organization() {
    let (plan, _) = plan_of(
        "name,parent,parent_id\n\
         orphan,nobody,\n\
         child-of-existing,,org-in-the-tenant\n",
    );
    let error = error_of(&plan, 0).expect("invalid");
    assert!(
        error.contains("parent: \"nobody\" is neither the id nor the name of a row of this file"),
        "{error}"
    );
    // A parent_id that names no row is an organization that exists already: sent in wave 0.
    assert!(plan.outcomes.is_unsent(1));
    assert!(plan.parents.is_empty());
    assert_eq!(plan.wave_count, 1);
}

#[test]
fn the_whole_subtree_of_an_invalid_row_is_invalid() {
    let (plan, _) = plan_of(
        "name,email,parent\n\
         top,not-an-email,\n\
         child,,top\n\
         grandchild,,child\n\
         sibling,,\n",
    );
    assert!(error_of(&plan, 0).is_some_and(|e| e.contains("email")));
    assert!(
        error_of(&plan, 1).is_some_and(|e| e.contains("its parent, line 2, is invalid")),
        "{:?}",
        error_of(&plan, 1)
    );
    assert!(
        error_of(&plan, 2).is_some_and(|e| e.contains("its parent, line 3, is invalid")),
        "{:?}",
        error_of(&plan, 2)
    );
    assert!(plan.outcomes.is_unsent(3));
    assert_eq!((plan.to_send, plan.invalid), (1, 3));
    assert_eq!(plan.wave_count, 1);
}

#[test]
fn a_repeated_key_is_invalid_and_names_the_first_line() {
    let (plan, _) = plan_of("name\nacme\nacme\n");
    assert!(plan.outcomes.is_unsent(0));
    let error = error_of(&plan, 1).expect("invalid");
    assert!(error.contains("line 2"), "{error}");
}

#[test]
fn rows_in_doubt_and_rows_the_results_file_does_not_list_are_found() {
    let mut earlier = EarlierRuns::default();
    earlier.had_results = true;
    let done = Outcome::done(Status::Created, "org-a".into(), Some(201), 1);
    earlier.learn("name:a".into(), Place::Results(2), Some(done));
    earlier.learn("name:b".into(), Place::Results(3), None);
    earlier.learn("name:bad".into(), Place::Results(4), None);
    earlier.list("name:c");
    let (plan, _) = plan_after(
        "name,email\n\
         a,\n\
         b,\n\
         b,\n\
         c,\n\
         bad,not an email\n\
         new,\n\
         newer,\n",
        &mut earlier,
    );
    // The first row with a key is the row an earlier run's line is about; its repeat is
    // invalid, and an invalid row in doubt stays in doubt.
    assert_eq!(plan.in_doubt_rows, [1, 4]);
    assert_eq!(
        (plan.unlisted, plan.unlisted_lines.clone()),
        (2, vec![7, 8])
    );
    assert_eq!(plan.done_before, 1);

    // Without a results file, nothing is reported as unlisted.
    let (plan, _) = plan_after("name\nnew\n", &mut EarlierRuns::default());
    assert_eq!(plan.unlisted, 0);
}

#[test]
fn names_slugged_alike_are_one_name_whatever_feeds_the_id() {
    let csv = "Account ID,Account Name\n\
               001,Acme Inc\n\
               002,\"ACME, Inc.\"\n\
               003,acme inc\n\
               004,Beta\n";
    let toml = "[fields]\nid = \"Account ID\"\nname = { slug = \"Account Name\" }\n";
    let (plan, reported) = plan_mapped(csv, toml, &mut EarlierRuns::default());
    assert!(plan.outcomes.is_unsent(0) && plan.outcomes.is_unsent(3));
    for index in [1, 2] {
        let error = error_of(&plan, index).expect("a second acme-inc is invalid");
        assert!(
            error.contains("name \"acme-inc\" (the slug of")
                && error.contains("is already the name of line 2"),
            "{error}"
        );
    }
    assert!(reported[0].starts_with("line 3: name \"acme-inc\" (the slug of \"ACME, Inc.\")"));
    assert_eq!(plan.problem_counts[&ProblemKind::DuplicateName], 2);
    assert_eq!((plan.to_send, plan.invalid), (2, 2));

    // Ids made by the mapping (a slug, a format) repeat as keys do.
    for id in [
        "{ slug = \"Account Name\" }",
        "{ format = \"c-{Account Name}\" }",
    ] {
        let toml = format!("[fields]\nid = {id}\nname = \"Account ID\"\n");
        let csv = "Account ID,Account Name\nx1,Acme\nx2,Beta\nx3,Acme\n";
        let (plan, _) = plan_mapped(csv, &toml, &mut EarlierRuns::default());
        let error = error_of(&plan, 2).expect("a repeated made id is invalid");
        assert!(error.contains("is already used by line 2"), "{id}: {error}");
        assert_eq!(plan.to_send, 2, "{id}");
    }

    // Names written as they are may repeat under ids of their own.
    let toml = "[fields]\nid = \"Account ID\"\nname = \"Account Name\"\n";
    let (plan, _) = plan_mapped(csv, toml, &mut EarlierRuns::default());
    assert_eq!(plan.to_send, 4);
}

#[test]
fn a_row_an_earlier_run_created_stays_created_though_its_slug_collides() {
    let mut earlier = EarlierRuns::default();
    earlier.had_results = true;
    let done = Outcome::done(Status::Created, "org-2".into(), Some(201), 1);
    earlier.learn("id:002".into(), Place::Results(3), Some(done));
    let csv = "Account ID,Account Name\n001,Acme Inc\n002,ACME Inc.\n003,ACME-INC\n";
    let toml = "[fields]\nid = \"Account ID\"\nname = { slug = \"Account Name\" }\n";
    let (plan, _) = plan_mapped(csv, toml, &mut earlier);
    assert!(plan.outcomes.is_unsent(0));
    assert_eq!(plan.outcomes.status(1), Some(Status::Created));
    assert!(error_of(&plan, 2).is_some_and(|e| e.contains("already the name of line 2")));
}

#[test]
fn rows_done_earlier_are_found_in_any_order_repeated_or_named_as_parents() {
    // The results file of an earlier run, its rows in another order than the input's now.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let results = dir.path().join("customers.results.csv");
    std::fs::write(
        &results,
        "name,parent,status,org_id,http_status,error,attempts,changes\n\
         b,,created,org-b,201,,1,\n\
         a,,created,org-a,201,,1,\n\
         c,,failed,,400,HTTP 400 bad,1,\n",
    )
    .expect("the file is written");
    let headers: csv::StringRecord = ["name", "parent"].into_iter().collect();
    let mapping = Mapping::new(&headers, &MappingSpec::default()).expect("a mapping");
    let mut earlier =
        EarlierRuns::load(&results, &mapping, &TenantCheck::any()).expect("the results are read");
    // a and b at the places of each other's line; b again; children naming a done row and a
    // row to send as their parents.
    let (plan, reported) = plan_after(
        "name,parent\n\
         a,\n\
         b,\n\
         c,\n\
         b,\n\
         d,a\n\
         e,c\n",
        &mut earlier,
    );
    assert_eq!(plan.done_before, 2, "{reported:?}");
    for (row, id) in [(0, "org-a"), (1, "org-b")] {
        assert_eq!(plan.outcomes.view(row).and_then(|o| o.org_id), Some(id));
    }
    assert!(plan.outcomes.is_unsent(2));
    let error = error_of(&plan, 3).expect("the repeat is invalid");
    assert!(error.contains("already used by line 3"), "{error}");
    assert_eq!(plan.parents, HashMap::from([(4, 0), (5, 2)]));
    assert_eq!(reported.len(), 1, "{reported:?}");
}
