//! Byte and line arithmetic for the in-place YAML editor (`edit.rs`): where a quoted scalar
//! ends, where a line starts, and which byte ranges remove whole lines.

/// The length of a quoted scalar's source `src` (tag and anchor first, maybe) up to and
/// including its closing quote.
pub(super) fn quoted_len(src: &str, double: bool) -> Option<usize> {
    let q = if double { '"' } else { '\'' };
    let open = src.find(q)?;
    let mut it = src[open + 1..].char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match c {
            '\\' if double => {
                it.next();
            }
            // '' is an escaped quote inside single quotes
            '\'' if !double && it.peek().map(|x| x.1) == Some('\'') => {
                it.next();
            }
            c if c == q => return Some(open + 1 + i + 1),
            _ => {}
        }
    }
    None
}

/// The start of the line holding `at`.
pub(super) fn line_start(text: &str, at: usize) -> usize {
    text.get(..at)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1)
}

/// Each line of `text` as (start, end before its line break).
fn lines(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let nl = b[at..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |i| at + i);
        let end = if nl > at && b[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        out.push((at, end));
        at = nl + 1;
    }
    out
}

/// The byte ranges that delete the lines `gone` covers; each of its ranges runs from a line's
/// start to any offset on the last line to delete. A run of deleted lines goes together with
/// the line break in front of it (at the text's start, the one after it), so that text
/// inserted at the end of the run's last line follows the line before the run. Blank lines
/// around a run stay, except that when a run sat between two blank lines the one before it
/// goes too (one blank line was there, one stays). None if a range does not start a line.
pub(super) fn removals(text: &str, gone: &[(usize, usize)]) -> Option<Vec<(usize, usize)>> {
    if gone.is_empty() {
        return Some(Vec::new());
    }
    let lines = lines(text);
    let line_of = |p: usize| lines.partition_point(|l| l.0 <= p).checked_sub(1);
    let mut marked = vec![false; lines.len()];
    for &(s, e) in gone {
        let (a, b) = (line_of(s)?, line_of(e)?);
        if lines[a].0 != s || b < a {
            return None;
        }
        marked[a..=b].fill(true);
    }
    let blank = |i: usize| text[lines[i].0..lines[i].1].trim().is_empty();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !marked[i] {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < lines.len() && marked[j + 1] {
            j += 1;
        }
        let mut a = i;
        if a > 0 && j + 1 < lines.len() && blank(a - 1) && blank(j + 1) {
            a -= 1;
        }
        out.push(if a > 0 {
            (lines[a - 1].1, lines[j].1)
        } else {
            (0, lines.get(j + 1).map_or(text.len(), |l| l.0))
        });
        i = j + 1;
    }
    Some(out)
}
