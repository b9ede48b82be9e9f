//! An HTML error page (a gateway's or a web server's, in place of the API's JSON) as a message
//! shows it: its `<title>`, whitespace collapsed and the common entities decoded, never its
//! markup.

use reqwest::header::{CONTENT_TYPE, HeaderMap};

/// Longest title kept, in characters.
const MAX_TITLE: usize = 200;

/// Whether a reply with `headers` and `body` is an HTML page: said by its `Content-Type`, or
/// by how its body starts.
pub(super) fn is_html(headers: &HeaderMap, body: &[u8]) -> bool {
    let said = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/html"));
    let start: Vec<u8> = body
        .iter()
        .copied()
        .skip_while(u8::is_ascii_whitespace)
        .take(14)
        .map(|b| b.to_ascii_lowercase())
        .collect();
    said || start.starts_with(b"<!doctype html") || start.starts_with(b"<html")
}

/// The text of the page's `<title>`, if it has a non-empty one.
pub(super) fn title(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let words: Vec<&str> = text[start..end].split_whitespace().collect();
    let title = decode(&words.join(" "));
    let title: String = title.chars().take(MAX_TITLE).collect();
    (!title.is_empty()).then_some(title)
}

/// `text` with the entities a title commonly holds decoded.
fn decode(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_its_title() {
        let page = b"<!DOCTYPE html>\n<html><head>\n<TITLE>501\n  Not Implemented &amp; more</TITLE>\
                     </head><body><h1>Not Implemented</h1><p>PUT is not supported</p></body></html>";
        assert!(is_html(&HeaderMap::new(), page));
        assert_eq!(title(page).as_deref(), Some("501 Not Implemented & more"));
        assert_eq!(title(b"<html><body>no title</body></html>"), None);
        assert_eq!(title(b"<html><title>  </title></html>"), None);
        assert!(!is_html(&HeaderMap::new(), b"{\"error\":\"x\"}"));
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "text/html; charset=utf-8".parse().unwrap());
        assert!(is_html(&headers, b"oops"));
    }
}
