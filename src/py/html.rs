//! `_repr_html_` for the result objects Jupyter shows most (a task, a search page, a job, a
//! page of jobs, a memory search hit, the store's health): small HTML tables, every value escaped.

use std::fmt::Write;

/// `s` with the five HTML-special characters escaped.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

/// A table with a caption, a header row and rows of cells (text, escaped here).
pub fn table(caption: &str, header: &[&str], rows: &[Vec<String>]) -> String {
    let mut h = String::from("<table class=\"zerolag\">");
    let _ = write!(
        h,
        "<caption style=\"text-align:left\"><b>{}</b></caption>",
        esc(caption)
    );
    if !header.is_empty() {
        h.push_str("<thead><tr>");
        for col in header {
            let _ = write!(h, "<th style=\"text-align:left\">{}</th>", esc(col));
        }
        h.push_str("</tr></thead>");
    }
    h.push_str("<tbody>");
    for row in rows {
        h.push_str("<tr>");
        for cell in row {
            let _ = write!(h, "<td style=\"text-align:left\">{}</td>", esc(cell));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    h
}

/// A two-column table of fields and values.
pub fn fields(caption: &str, pairs: &[(&str, String)]) -> String {
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .map(|(k, v)| vec![(*k).to_string(), v.clone()])
        .collect();
    table(caption, &[], &rows)
}

/// A Unix time in milliseconds as `YYYY-MM-DD HH:MM:SS UTC` (the proleptic Gregorian
/// calendar, days from the civil-from-days algorithm).
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
