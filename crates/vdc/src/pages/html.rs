//! HTML building blocks for the pages: escaping and the shared layout. Every interpolated
//! value goes through [`esc`]; markup is only ever built from literals and escaped text.

use std::fmt::Write as _;

/// Escapes text for an HTML text node or a double- or single-quoted attribute value.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `title` is text (escaped here), `body` is markup built by the caller.
pub(crate) fn page(title: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 600);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · vdc</title><link rel=\"icon\" href=\"data:,\">\
         <link rel=\"stylesheet\" href=\"/ui/assets/pages.css\">\
         <script src=\"/ui/assets/pages.js\" defer></script></head>\
         <body><header><a href=\"/ui\">vdc</a> <nav><a href=\"/docs\">API docs</a></nav></header>\
         <main>{body}</main></body></html>\n",
        title = esc(title),
    );
    out
}

/// The API key form (sets the pages cookie through `POST /ui/login`).
pub(crate) fn key_form(message: Option<&str>) -> String {
    let mut out = String::from("<section class=\"key\"><h2>API key</h2>");
    if let Some(m) = message {
        let _ = write!(out, "<p class=\"error\" id=\"key-error\">{}</p>", esc(m));
    }
    out.push_str(
        "<form method=\"post\" action=\"/ui/login\">\
         <label>Admin API key <input type=\"password\" name=\"key\" id=\"key\" \
         autocomplete=\"off\" required maxlength=\"512\"></label> \
         <button type=\"submit\">Use this key</button></form>\
         <p class=\"hint\">The key is kept in an HttpOnly cookie for the pages under /ui only.</p>\
         </section>",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(esc("Ada Lovelace"), "Ada Lovelace");
    }

    #[test]
    fn page_escapes_its_title() {
        let p = page("<b>", "");
        assert!(p.contains("<title>&lt;b&gt; · vdc</title>"));
    }
}
