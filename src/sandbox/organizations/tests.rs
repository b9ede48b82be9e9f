//! The organizations endpoints: the list query, search beyond ASCII, If-Match, and the
//! Idempotency-Key length.

use super::*;

#[test]
fn list_query() {
    let q = ListQuery::parse(
        "search_phrase=Acme&limit=5&after_organization_id=b&template=false&sort=x",
    )
    .unwrap();
    assert_eq!(q.search, Some(("Acme".to_owned(), "acme".to_owned())));
    assert_eq!(
        (q.limit, q.after.as_deref(), q.template),
        (5, Some("b"), Some(false))
    );
    assert_eq!(ListQuery::parse("").unwrap().limit, DEFAULT_LIMIT);
    for bad in ["limit=0", "limit=101", "limit=x", "template=yes"] {
        assert!(ListQuery::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_search_ignores_case_in_and_beyond_ascii() {
    assert!(contains_ignoring_case("ACME Corp", "acme"));
    assert!(contains_ignoring_case("Acme", "acme"));
    assert!(!contains_ignoring_case("Acm", "acme"));
    assert!(contains_ignoring_case("MÜLLER GmbH", "müller"));
    assert!(!contains_ignoring_case("Muller", "müller"));
}

#[test]
fn if_match_compares_strongly() {
    assert!(if_match_passes("\"a1\"", "\"a1\""));
    assert!(if_match_passes(" \"x\", \"a1\"", "\"a1\""));
    assert!(if_match_passes("*", "\"a1\""));
    assert!(!if_match_passes("\"a2\"", "\"a1\""));
    assert!(!if_match_passes("W/\"a1\"", "\"a1\""));
    assert!(!if_match_passes("a1", "\"a1\""));
}

#[test]
fn idempotency_key_length() {
    let mut headers = HeaderMap::new();
    assert_eq!(idempotency_key(&headers).unwrap(), None);
    headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("short"));
    assert!(idempotency_key(&headers).is_err());
    headers.insert(
        IDEMPOTENCY_KEY,
        HeaderValue::try_from("k".repeat(32)).unwrap(),
    );
    assert_eq!(idempotency_key(&headers).unwrap(), Some("k".repeat(32)));
    headers.insert(
        IDEMPOTENCY_KEY,
        HeaderValue::try_from("k".repeat(256)).unwrap(),
    );
    assert!(idempotency_key(&headers).is_err());
}
