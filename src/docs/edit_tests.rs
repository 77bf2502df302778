//! Tests of the in-place YAML editor: exact expected texts for each kind of edit, the cases
//! that must give up, and properties (any result reads back as the wanted value; a one-field
//! change on a commented file is a one-line diff; a deletion removes exactly the entry's lines
//! and the comments attached to it).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::{edit_yaml, same};
use crate::docs::merge;
use crate::docs::yaml::{dump, dump_at, load, Limits};

/// Merges `updates` into `text`'s value and edits `text` to match.
fn run(text: &str, updates: &Value) -> Option<String> {
    let old = load(text, Limits::default()).unwrap();
    let mut new = old.clone();
    merge(&mut new, updates);
    let out = edit_yaml(text, &old, &new, Limits::default());
    if let Some(o) = &out {
        // Belt and braces: the module's own safety net must already ensure this.
        assert!(same(&load(o, Limits::default()).unwrap(), &new), "{o}");
    }
    out
}

/// Lines that differ between two texts of the same line count (None if counts differ).
fn changed_lines(a: &str, b: &str) -> Option<usize> {
    let (x, y): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    (x.len() == y.len()).then(|| x.iter().zip(&y).filter(|(p, q)| p != q).count())
}

#[test]
fn edits_give_exact_texts() {
    let cases: &[(&str, &str, Value, &str)] = &[
        (
            "scalar beside comment",
            "# top\nname: old # why\nother: 1\n",
            json!({"name": "new"}),
            "# top\nname: new # why\nother: 1\n",
        ),
        (
            "number",
            "a: 1\nb: 2 # two\n",
            json!({"b": 3}),
            "a: 1\nb: 3 # two\n",
        ),
        (
            "deep",
            "a:\n  # about b\n  b:\n    c:\n      d: 1 # d\n      e: 2\nz: 0\n",
            json!({"a": {"b": {"c": {"e": 5}}}}),
            "a:\n  # about b\n  b:\n    c:\n      d: 1 # d\n      e: 5\nz: 0\n",
        ),
        (
            "quoting kept elsewhere",
            "a: 'single'\nb: \"double\"\nc: plain\n",
            json!({"c": "x"}),
            "a: 'single'\nb: \"double\"\nc: x\n",
        ),
        (
            "quoted old replaced",
            "a: 'single' # c\n",
            json!({"a": "two"}),
            "a: two # c\n",
        ),
        (
            "new key at root before trailing comment",
            "a: 1\nb: 2\n\n# the end\n",
            json!({"c": 3}),
            "a: 1\nb: 2\nc: 3\n\n# the end\n",
        ),
        (
            "new key nested",
            "a:\n  x: 1 # x\n  # about y\n  y: 2\nb: 3\n",
            json!({"a": {"z": true}}),
            "a:\n  x: 1 # x\n  # about y\n  y: 2\n  z: true\nb: 3\n",
        ),
        (
            "new nested mapping value",
            "a: 1\n",
            json!({"b": {"c": {"d": [1, 2]}}}),
            "a: 1\nb:\n  c:\n    d:\n      - 1\n      - 2\n",
        ),
        (
            "new keys at two levels at once",
            "a:\n  x: 1\n",
            json!({"a": {"y": 2}, "b": 3}),
            "a:\n  x: 1\n  y: 2\nb: 3\n",
        ),
        (
            "four-space indentation",
            "a:\n    b: 1\n    c: 2\n",
            json!({"a": {"b": 9, "d": {"e": 1}}}),
            "a:\n    b: 9\n    c: 2\n    d:\n        e: 1\n",
        ),
        (
            "scalar to mapping",
            "a: 1 # was a number\nb: 2\n",
            json!({"a": {"x": 1}}),
            "a: # was a number\n  x: 1\nb: 2\n",
        ),
        (
            "mapping to scalar",
            "a:\n  x: 1\n  y: 2\nb: 2\n",
            json!({"a": "flat"}),
            "a: flat\nb: 2\n",
        ),
        (
            "scalar to block keeps the comment on the key line",
            "a: ~ # empty for now\nb: '' # none\n",
            json!({"a": {"k": 1}, "b": [{"n": 1}]}),
            "a: # empty for now\n  k: 1\nb: # none\n  - n: 1\n",
        ),
        (
            "scalar to sequence",
            "a: 1\nb: 2\n",
            json!({"a": ["x", "y"]}),
            "a:\n  - x\n  - y\nb: 2\n",
        ),
        (
            "comment after key kept when a block replaces a block",
            "a: # keep\n  x: 1\nb: 2\n",
            json!({"a": ["s"]}),
            "a: # keep\n  - s\nb: 2\n",
        ),
        (
            "sequence item changed in place",
            "l:\n  - one # 1\n  - two\n",
            json!({"l": ["one", "TWO"]}),
            "l:\n  - one # 1\n  - TWO\n",
        ),
        (
            "sequence appended",
            "l:\n- a\n- b\nz: 1\n",
            json!({"l": ["a", "b", "c"]}),
            "l:\n- a\n- b\n- c\nz: 1\n",
        ),
        (
            "sequence shrunk is replaced whole",
            "l:\n  - a\n  - b\nz: 1\n",
            json!({"l": ["b"]}),
            "l:\n  - b\nz: 1\n",
        ),
        (
            "field inside a sequence of mappings",
            "items:\n  - name: x # first\n    size: 1\n  - name: y\n    size: 2\n",
            json!({"items": [{"name": "x", "size": 1}, {"name": "y", "size": 3}]}),
            "items:\n  - name: x # first\n    size: 1\n  - name: y\n    size: 3\n",
        ),
        (
            "new field in a sequence item",
            "items:\n  - name: x\n  - name: y\n",
            json!({"items": [{"name": "x", "k": 1}, {"name": "y"}]}),
            "items:\n  - name: x\n    k: 1\n  - name: y\n",
        ),
        (
            "item scalar to mapping",
            "l:\n  - a\n  - b\n",
            json!({"l": ["a", {"p": 1, "q": 2}]}),
            "l:\n  - a\n  - p: 1\n    q: 2\n",
        ),
        (
            "flow sequence stays flow",
            "a: [1, 2] # nums\nb: 1\n",
            json!({"a": [1, 2, 3]}),
            "a: [1, 2, 3] # nums\nb: 1\n",
        ),
        (
            "flow mapping stays flow",
            "a: {x: 1, y: [a, b]}\n",
            json!({"a": {"x": 2, "y": ["a", "b, c"]}}),
            "a: {x: 2, y: [a, \"b, c\"]}\n",
        ),
        ("flow to scalar", "a: [1, 2]\n", json!({"a": "s"}), "a: s\n"),
        (
            "literal block scalar replaced",
            "a: |\n  line one\n  line two\nb: 1 # b\n",
            json!({"a": "short"}),
            "a: short\nb: 1 # b\n",
        ),
        (
            "folded block scalar to multi-line string",
            "a: >\n  folded\n  text\n\nb: 1\n",
            json!({"a": "x\ny"}),
            "a: \"x\\ny\"\n\nb: 1\n",
        ),
        (
            "multi-line plain scalar",
            "a: one\n  two\nb: 1\n",
            json!({"a": "three"}),
            "a: three\nb: 1\n",
        ),
        (
            "document markers",
            "--- # doc\na: 1\nb: 2\n...\n",
            json!({"a": 5, "c": 3}),
            "--- # doc\na: 5\nb: 2\nc: 3\n...\n",
        ),
        (
            "crlf",
            "a: 1 # c\r\nb:\r\n  x: 1\r\n",
            json!({"a": 2, "b": {"y": [1]}}),
            "a: 2 # c\r\nb:\r\n  x: 1\r\n  y:\r\n    - 1\r\n",
        ),
        (
            "no final newline",
            "a: 1\nb: 2",
            json!({"b": 3, "c": 4}),
            "a: 1\nb: 3\nc: 4",
        ),
        (
            "unicode before the edit",
            "ключ: значение # комментарий\n名前: 太郎\nemoji: 😀😀\n",
            json!({"emoji": "🎉", "名前": "花子"}),
            "ключ: значение # комментарий\n名前: 花子\nemoji: 🎉\n",
        ),
        (
            "unicode key added",
            "é: 1\n",
            json!({"ü": "ö"}),
            "é: 1\nü: ö\n",
        ),
        (
            "empty collections",
            "a: 1\nb: 2\n",
            json!({"a": [], "b": {}}),
            "a: []\nb: {}\n",
        ),
        (
            "key needing quotes",
            "a: 1\n",
            json!({"b: c": 1, "#": 2, "": 3}),
            "a: 1\n\"b: c\": 1\n\"#\": 2\n\"\": 3\n",
        ),
        (
            "anchored mapping edited inside",
            "base: &b\n  x: 1\nother: 2\n",
            json!({"other": 3}),
            "base: &b\n  x: 1\nother: 3\n",
        ),
        (
            "tagged scalar replaced with its tag",
            "a: !!str 5\n",
            json!({"a": "6"}),
            "a: \"6\"\n",
        ),
        (
            "empty values filled",
            "a:\nb: 1\nc:   # x\nl:\n  - \n  -\n",
            json!({"a": 5, "c": {"d": 1}, "l": [1, 2]}),
            "a: 5\nb: 1\nc:   # x\n  d: 1\nl:\n  - 1\n  - 2\n",
        ),
        (
            "quoted scalars with escapes and comments",
            "\"k\": 'it''s' # c\nx: \"a\\\"b\" # d\n",
            json!({"k": "v", "x": "w"}),
            "\"k\": v # c\nx: w # d\n",
        ),
        (
            "anchored flow with comment",
            "k: &a [1, 2] # c\n",
            json!({"k": [3]}),
            "k: [3] # c\n",
        ),
        (
            "multi-line double-quoted",
            "a: \"one\n  two\"\nb: 1\n",
            json!({"a": "x"}),
            "a: x\nb: 1\n",
        ),
        (
            "value under a quoted key",
            "'a b': 1 # c\n",
            json!({"a b": {"c": 2}}),
            "'a b': # c\n  c: 2\n",
        ),
    ];
    for (name, text, updates, want) in cases {
        let got = run(text, updates);
        assert_eq!(got.as_deref(), Some(*want), "{name}");
    }
}

#[test]
fn deletions_give_exact_texts() {
    let cases: &[(&str, &str, Value, &str)] = &[
        (
            "first key with a comment above; a header comment apart from it stays",
            "# top\n\n# about a\na: 1 # one\nb: 2\nc: 3\n",
            json!({"a": null}),
            "# top\n\nb: 2\nc: 3\n",
        ),
        (
            "middle key with comments above and beside",
            "a: 1\n# about b\n# more about b\nb: 2 # two\nc: 3\n",
            json!({"b": null}),
            "a: 1\nc: 3\n",
        ),
        (
            "last key",
            "a: 1 # a\nb: 2 # b\n",
            json!({"b": null}),
            "a: 1 # a\n",
        ),
        (
            "a comment after the entry stays",
            "a: 1\nb: 2\n\n# the end\n",
            json!({"b": null}),
            "a: 1\n\n# the end\n",
        ),
        (
            "comment lines at another indentation, or apart, stay",
            "x: 0\n    # odd\na: 1\n# apart\n\nb: 2\n",
            json!({"a": null, "b": null}),
            "x: 0\n    # odd\n# apart\n\n",
        ),
        (
            "blank lines on both sides: one stays",
            "a: 1\n\nb: 2\n\nc: 3\n",
            json!({"b": null}),
            "a: 1\n\nc: 3\n",
        ),
        (
            "blank line on one side stays",
            "a: 1\n\nb: 2\nc: 3\n",
            json!({"b": null}),
            "a: 1\n\nc: 3\n",
        ),
        (
            "adjacent keys",
            "a: 1\nb: 2\nc: 3\nd: 4\n",
            json!({"b": null, "c": null}),
            "a: 1\nd: 4\n",
        ),
        (
            "nested",
            "a:\n  x: 1 # x\n  # about y\n  y: 2\n  z: 3\nb: 4\n",
            json!({"a": {"y": null}}),
            "a:\n  x: 1 # x\n  z: 3\nb: 4\n",
        ),
        (
            "nested mapping with its block",
            "a: 1\n# about b\nb: # b\n  x:\n    y: 1 # y\n  z: [1]\nc: 3\n",
            json!({"b": null}),
            "a: 1\nc: 3\n",
        ),
        (
            "a trailing comment inside the deleted block stays",
            "a:\n  x: 1\n  # end of a\nb: 2\n",
            json!({"a": null}),
            "  # end of a\nb: 2\n",
        ),
        (
            "last key of a nested mapping",
            "a: # keep\n  # about x\n  x: 1 # x\nb: 2\n",
            json!({"a": {"x": null}}),
            "a: {} # keep\nb: 2\n",
        ),
        (
            "every key of a nested mapping, at the end",
            "b: 2\na:\n  x: 1\n  y:\n    - 1\n",
            json!({"a": {"x": null, "y": null}}),
            "b: 2\na: {}\n",
        ),
        (
            "last nested key deleted, another added",
            "a:\n  x: 1\n  y: 2 # y\nb: 3\n",
            json!({"a": {"y": null, "z": 9}}),
            "a:\n  x: 1\n  z: 9\nb: 3\n",
        ),
        (
            "all nested keys replaced by a new one",
            "a:\n  x: 1\n  y: 2\nb: 3\n",
            json!({"a": {"x": null, "y": null, "z": 9}}),
            "a:\n  z: 9\nb: 3\n",
        ),
        (
            "crlf",
            "a: 1 # a\r\n# about b\r\nb:\r\n  x: 1\r\n\r\nc: 3\r\n",
            json!({"b": null}),
            "a: 1 # a\r\n\r\nc: 3\r\n",
        ),
        (
            "crlf, nested emptied",
            "a:\r\n  x: 1\r\nb: 2\r\n",
            json!({"a": {"x": null}}),
            "a: {}\r\nb: 2\r\n",
        ),
        (
            "deletion and a changed value",
            "a: 1 # a\nb: 2\nc: 3 # c\n",
            json!({"b": null, "c": 4}),
            "a: 1 # a\nc: 4 # c\n",
        ),
        (
            "deletion, a changed value and a new key",
            "a: 1 # a\nb:\n  x: 1\n  y: 2\nc: 3 # c\n",
            json!({"a": null, "b": {"x": 5, "y": null}, "d": 6}),
            "b:\n  x: 5\nc: 3 # c\nd: 6\n",
        ),
        (
            "block sequence value",
            "a: 1\nl:\n  - x # first\n  - y\nz: 2\n",
            json!({"l": null}),
            "a: 1\nz: 2\n",
        ),
        (
            "block sequence at the key's column",
            "l:\n- x\n- k: 1\n  m: 2\nz: 2\n",
            json!({"l": null}),
            "z: 2\n",
        ),
        (
            "block scalar value",
            "a: |\n  one\n  # not a comment\nb: 1\n",
            json!({"a": null}),
            "b: 1\n",
        ),
        ("empty value", "a:\nb: 1\n", json!({"a": null}), "b: 1\n"),
        ("no final newline", "a: 1\nb: 2", json!({"b": null}), "a: 1"),
        (
            "missing key: nothing to do",
            "a: 1 # a\n",
            json!({"zz": null}),
            "a: 1 # a\n",
        ),
        (
            "flow mapping rewritten in its style",
            "a: {x: 1, y: 2} # a\n",
            json!({"a": {"x": null}}),
            "a: {y: 2} # a\n",
        ),
    ];
    for (name, text, updates, want) in cases {
        let got = run(text, updates);
        assert_eq!(got.as_deref(), Some(*want), "{name}");
    }
}

#[test]
fn deletions_in_sequence_items() {
    // merge replaces sequences whole; set the value directly.
    let l = Limits::default();
    let text = "l:\n  - n: 1 # n\n    k: 2 # k\n    # about m\n    m: 3\n";
    let old = load(text, l).unwrap();
    let new = json!({"l": [{"n": 1, "m": 3}]});
    let got = edit_yaml(text, &old, &new, l).unwrap();
    assert_eq!(got, "l:\n  - n: 1 # n\n    # about m\n    m: 3\n");
    let new = json!({"l": [{"n": 1, "k": 2}]});
    let got = edit_yaml(text, &old, &new, l).unwrap();
    assert_eq!(got, "l:\n  - n: 1 # n\n    k: 2 # k\n");
    // every key of an item: `- {}`
    let new = json!({"l": [{}]});
    assert_eq!(edit_yaml(text, &old, &new, l).unwrap(), "l:\n  - {}\n");
    // the key on the dash's line cannot go as lines
    let new = json!({"l": [{"k": 2, "m": 3}]});
    assert_eq!(edit_yaml(text, &old, &new, l), None);
}

#[test]
fn values_needing_quotes_round_trip() {
    let tricky = [
        json!("yes"),
        json!("no"),
        json!("1.0"),
        json!("12"),
        json!("0x1f"),
        json!("true"),
        json!("null"),
        json!("~"),
        json!(""),
        json!(": x"),
        json!("a: b"),
        json!("has # hash"),
        json!("#start"),
        json!("  leading"),
        json!("trailing "),
        json!("- dash"),
        json!("[x"),
        json!("{x"),
        json!("*star"),
        json!("&amp"),
        json!("!bang"),
        json!("%pct"),
        json!("@at"),
        json!("`tick"),
        json!("'q"),
        json!("\"dq"),
        json!("|"),
        json!(">"),
        json!("---"),
        json!("..."),
        json!("tab\there"),
        json!("new\nline"),
        json!("back\\slash"),
        json!("ünï"),
        json!(".nan"),
        json!("-.inf"),
        json!(null),
        json!(true),
        json!(-3),
        json!(1.5),
        json!(1e300),
    ];
    for v in tricky {
        if v.is_null() {
            continue; // merge deletes on null; see null_as_value_is_written
        }
        let text = "# c\nk: old # keep\nz: 1\n";
        let got = run(text, &json!({ "k": v.clone() }));
        let got = got.unwrap_or_else(|| panic!("{v}"));
        assert!(got.ends_with(" # keep\nz: 1\n"), "{v}: {got}");
        assert_eq!(changed_lines(text, &got), Some(1), "{v}: {got}");
    }
}

#[test]
fn null_as_value_is_written() {
    // merge deletes keys given null, so set one directly.
    let text = "a: 1 # c\nb: 2\n";
    let old = load(text, Limits::default()).unwrap();
    let new = json!({"a": null, "b": 2});
    let got = edit_yaml(text, &old, &new, Limits::default()).unwrap();
    assert_eq!(got, "a: null # c\nb: 2\n");
}

#[test]
fn gives_up_when_it_should() {
    let l = Limits::default();
    let cases: &[(&str, Value, Value)] = &[
        ("", json!(null), json!({"a": 1})),
        ("# only a comment\n", json!(null), json!({"a": 1})),
        ("{a: 1}", json!({"a": 1}), json!({"a": 2})),
        ("- a\n", json!(["a"]), json!({"a": 1})),
        // the root would be left empty: rendered whole instead
        ("a: 1\nb: 2\n", json!({"a": 1, "b": 2}), json!({})),
        // an emptied mapping with an anchor on its key's line
        (
            "a: &x\n  k: 1\nb: 2\n",
            json!({"a": {"k": 1}, "b": 2}),
            json!({"a": {}, "b": 2}),
        ),
        // kept keys reordered
        (
            "a: 1\nb: 2\nc: 3\n",
            json!({"a": 1, "b": 2, "c": 3}),
            json!({"b": 2, "a": 1}),
        ),
        // new keys ahead of old ones: the order cannot be had by appending
        ("a: 1\n", json!({"a": 1}), json!({"z": 0, "a": 1})),
        // `old` that is not what the text says
        ("a: 1\n", json!({"a": 2}), json!({"a": 3})),
        // the root stops being a mapping
        ("a: 1\n", json!({"a": 1}), json!([1])),
        // an alias would keep the old value: the safety net refuses
        (
            "a: &x 1\nb: *x\n",
            json!({"a": 1, "b": 1}),
            json!({"a": 2, "b": 1}),
        ),
    ];
    for (text, old, new) in cases {
        assert_eq!(edit_yaml(text, old, new, l), None, "{text:?} -> {new}");
    }
}

#[test]
fn alias_itself_can_be_replaced() {
    let got = run("a: &x 1\nb: *x # alias\n", &json!({"b": 5})).unwrap();
    assert_eq!(got, "a: &x 1\nb: 5 # alias\n");
}

#[test]
fn unchanged_value_is_unchanged_text() {
    let text = "# c\na:  1   # odd spacing\nb:\n    - x\n";
    assert_eq!(run(text, &json!({"a": 1})).as_deref(), Some(text));
}

#[test]
fn key_order_is_checked_recursively() {
    // Map equality ignores order; `same` must not.
    let a: Value = serde_json::from_str(r#"{"x": {"p": 1, "q": 2}}"#).unwrap();
    let b: Value = serde_json::from_str(r#"{"x": {"q": 2, "p": 1}}"#).unwrap();
    assert!(same(&a, &a));
    assert!(!same(&a, &b));
}

#[test]
fn one_field_change_is_one_line_diff() {
    let text = "\
# Service settings
name: api        # shown in the UI
owner: \"team ü\"
limits:
  # per minute
  requests: 100
  burst: 10     # short spikes
tags: [a, b]
routes:
  - path: /x
    method: GET
  - path: /y
    method: POST
notes: |
  free text
  kept as is
";
    let updates = [
        json!({"name": "web"}),
        json!({"owner": "team ö"}),
        json!({"limits": {"requests": 200}}),
        json!({"limits": {"burst": "ten"}}),
        json!({"tags": ["a", "b", "c"]}),
        json!({"routes": [{"path": "/x", "method": "GET"}, {"path": "/z", "method": "POST"}]}),
    ];
    for u in updates {
        let got = run(text, &u).unwrap();
        assert_eq!(changed_lines(text, &got), Some(1), "{u}: {got}");
    }
    // a new key is one added line
    let got = run(text, &json!({"limits": {"daily": 5}})).unwrap();
    assert_eq!(got.lines().count(), text.lines().count() + 1);
    assert!(got.contains("  burst: 10     # short spikes\n  daily: 5\ntags:"));
}

#[test]
fn merged_write_edits_in_place() {
    use crate::docs::{merged_write, Document, Format, Origin, Settings};
    let text = "# keep me\na: 1 # and me\nb: 2\n".to_string();
    let doc = Document {
        path: "contexts/a.yaml".into(),
        value: load(&text, Limits::default()).unwrap(),
        text,
        format: Format::Yaml,
        version: 3,
        hash: String::new(),
        origin: Origin::File,
        created: 0.0,
        updated: 0.0,
        synced: String::new(),
        whole: false,
    };
    let s = Settings::default();
    let w = merged_write(
        "contexts/a.yaml",
        Format::Yaml,
        Some(&doc),
        &json!({"a": 2}),
        &s,
    )
    .unwrap();
    assert_eq!(w.text, "# keep me\na: 2 # and me\nb: 2\n");
    assert!(!w.whole);
    assert_eq!(w.value, r#"{"a":2,"b":2}"#);
    // a deletion is edited in place
    let w = merged_write(
        "contexts/a.yaml",
        Format::Yaml,
        Some(&doc),
        &json!({"b": null}),
        &s,
    )
    .unwrap();
    assert!(!w.whole);
    assert_eq!(w.text, "# keep me\na: 1 # and me\n");
    // one that empties the document is rendered whole
    let w = merged_write(
        "contexts/a.yaml",
        Format::Yaml,
        Some(&doc),
        &json!({"a": null, "b": null}),
        &s,
    )
    .unwrap();
    assert!(w.whole);
    assert_eq!(w.text, "{}\n");
    let w = merged_write("contexts/a.yaml", Format::Yaml, None, &json!({"a": 1}), &s).unwrap();
    assert!(w.whole);
    assert_eq!(w.text, "a: 1\n");
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[ -~]{0,8}".prop_map(Value::from),
        "[a-zé😀:# \"'\\-]{0,6}".prop_map(Value::from),
        prop::sample::select(vec!["yes", "1.0", "null", "~", ": x", " a", "-", "[]"])
            .prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    "[a-z]{1,3}|[ä😀][a-z]?|[a-z ]{1,3}"
}

fn doc() -> impl Strategy<Value = Value> {
    let leaf = scalar();
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 1..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .prop_filter_map("root must be a non-empty mapping", |v| match v {
        Value::Object(m) if !m.is_empty() => Some(Value::Object(m)),
        _ => None,
    })
}

/// Paths to every scalar under mappings only (what a one-field merge can change).
fn scalar_paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Object(m) = v {
        for (k, x) in m {
            at.push(k.clone());
            match x {
                Value::Object(_) => scalar_paths(x, at, out),
                Value::Array(_) => {}
                _ => out.push(at.clone()),
            }
            at.pop();
        }
    }
}

/// Paths to every mapping reached through mappings only, the root first.
fn map_paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Object(m) = v {
        out.push(at.clone());
        for (k, x) in m {
            at.push(k.clone());
            map_paths(x, at, out);
            at.pop();
        }
    }
}

/// Whether the lines of `a` appear in `b` in order (`b` only adds lines).
fn only_adds(a: &str, b: &str) -> bool {
    let mut rest = b.lines();
    a.lines().all(|l| rest.any(|m| m == l))
}

/// JSON pointers to every scalar, through sequences too.
fn pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(x, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, &format!("{at}/{i}"), out);
            }
        }
        _ => out.push(at.to_string()),
    }
}

/// The JSON pointer to a path of keys.
fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn nest(path: &[String], v: Value) -> Value {
    path.iter().rev().fold(v, |acc, k| {
        Value::Object(Map::from_iter([(k.clone(), acc)]))
    })
}

/// Paths to every key reached through mappings only.
fn key_paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Object(m) = v {
        for (k, x) in m {
            at.push(k.clone());
            out.push(at.clone());
            key_paths(x, at, out);
            at.pop();
        }
    }
}

/// Adds a comment after every line and a comment line before every third one.
fn commented(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    commented_without(&lines, 0..0)
}

/// What `commented` makes of `lines` with the lines in `skip` (and their comments) left out;
/// the comments of the others are numbered as before.
fn commented_without(lines: &[&str], skip: std::ops::Range<usize>) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        if i % 3 == 1 {
            let ind = line.len() - line.trim_start().len();
            out.push_str(&format!("{}# note {i}\n", " ".repeat(ind)));
        }
        out.push_str(&format!("{line} # c{i}\n"));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn prop_one_scalar_change(
        v in doc(),
        pick in any::<prop::sample::Index>(),
        to in scalar(),
        crlf in any::<bool>(),
        step in 2usize..5,
    ) {
        let mut text = commented(&dump_at(&v, 0, step));
        if crlf {
            text = text.replace('\n', "\r\n");
        }
        let old = load(&text, Limits::default()).unwrap();
        prop_assert!(same(&old, &v));
        let mut paths = Vec::new();
        scalar_paths(&v, &mut Vec::new(), &mut paths);
        prop_assume!(!paths.is_empty() && !to.is_null());
        let path = &paths[pick.index(paths.len())];
        let mut new = v.clone();
        merge(&mut new, &nest(path, to));
        let got = edit_yaml(&text, &old, &new, Limits::default());
        let got = got.unwrap();
        prop_assert!(same(&load(&got, Limits::default()).unwrap(), &new));
        let diff = changed_lines(&text, &got).unwrap();
        prop_assert!(diff <= 1, "{}\n---\n{}", text, got);
        // every comment survives a scalar edit
        for line in text.lines() {
            if let Some(i) = line.rfind(" # c") {
                prop_assert!(got.contains(&line[i..]), "{}\n---\n{}", text, got);
            }
        }
    }

    #[test]
    fn prop_any_merge_is_right_or_none(v in doc(), u in doc()) {
        let text = commented(&dump(&v));
        let old = load(&text, Limits::default()).unwrap();
        let mut new = old.clone();
        merge(&mut new, &u);
        if let Some(got) = edit_yaml(&text, &old, &new, Limits::default()) {
            prop_assert!(same(&load(&got, Limits::default()).unwrap(), &new));
        }
    }

    #[test]
    fn prop_new_key_only_adds_lines(
        v in doc(),
        pick in any::<prop::sample::Index>(),
        add in prop_oneof![scalar(), doc()],
        step in 2usize..5,
    ) {
        let text = commented(&dump_at(&v, 0, step));
        let old = load(&text, Limits::default()).unwrap();
        let mut paths = Vec::new();
        map_paths(&v, &mut Vec::new(), &mut paths);
        let path = &paths[pick.index(paths.len())];
        prop_assume!(!add.is_null());
        let mut at = path.clone();
        at.push("new key".into()); // generated keys are at most 3 characters
        let mut new = v.clone();
        merge(&mut new, &nest(&at, add.clone()));
        let got = edit_yaml(&text, &old, &new, Limits::default());
        let got = got.unwrap();
        prop_assert!(same(&load(&got, Limits::default()).unwrap(), &new));
        prop_assert!(only_adds(&text, &got), "{}\n---\n{}", text, got);
        // what merge really added (it drops nulls inside a new mapping)
        let added = at.iter().try_fold(&new, |v, k| v.get(k)).unwrap();
        let entry = dump(&json!({ "new key": added }));
        prop_assert_eq!(got.lines().count(), text.lines().count() + entry.lines().count());
    }

    #[test]
    fn prop_one_deletion(
        v in doc(),
        pick in any::<prop::sample::Index>(),
        crlf in any::<bool>(),
        step in 2usize..5,
    ) {
        let plain = dump_at(&v, 0, step);
        let nl = |t: String| if crlf { t.replace('\n', "\r\n") } else { t };
        let text = nl(commented(&plain));
        let old = load(&text, Limits::default()).unwrap();
        let mut paths = Vec::new();
        key_paths(&v, &mut Vec::new(), &mut paths);
        let path = &paths[pick.index(paths.len())];
        let (key, parent) = path.split_last().unwrap();
        let siblings = parent.iter().try_fold(&v, |v, k| v.get(k)).unwrap();
        let mut new = v.clone();
        merge(&mut new, &nest(path, Value::Null));
        let got = edit_yaml(&text, &old, &new, Limits::default());
        if parent.is_empty() && siblings.as_object().unwrap().len() == 1 {
            prop_assert_eq!(got, None); // an empty root is rendered whole
            return Ok(());
        }
        let got = got.unwrap();
        prop_assert!(same(&load(&got, Limits::default()).unwrap(), &new));
        // Exactly the entry's lines went, with the comments on them and the comment line
        // above the key (`commented` puts those at the line's indentation), and every other
        // comment stayed as it was; an emptied mapping became `{}` on its key's line.
        let at = v.pointer(&pointer(path)).unwrap().clone();
        let entry = dump_at(&nest(std::slice::from_ref(key), at), parent.len() * step, step);
        let entry: Vec<&str> = entry.lines().collect();
        let lines: Vec<&str> = plain.lines().collect();
        let emptied = siblings.as_object().unwrap().len() == 1;
        let want = |j: usize| {
            let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            if emptied {
                l[j - 1].push_str(" {}");
            }
            let l: Vec<&str> = l.iter().map(String::as_str).collect();
            nl(commented_without(&l, j..j + entry.len()))
        };
        let found = (usize::from(emptied)..=lines.len() - entry.len())
            .filter(|&j| lines[j..j + entry.len()] == entry[..])
            .any(|j| got == want(j));
        prop_assert!(found, "{}\n---\n{}", text, got);
    }

    #[test]
    fn prop_one_scalar_anywhere(
        v in doc(),
        pick in any::<prop::sample::Index>(),
        to in scalar(),
        step in 2usize..5,
    ) {
        // Sequences included (`- name: x` items), set directly rather than through merge.
        let text = commented(&dump_at(&v, 0, step));
        let old = load(&text, Limits::default()).unwrap();
        let mut ptrs = Vec::new();
        pointers(&v, "", &mut ptrs);
        let ptr = &ptrs[pick.index(ptrs.len())];
        let mut new = v.clone();
        *new.pointer_mut(ptr).unwrap() = to;
        let got = edit_yaml(&text, &old, &new, Limits::default()).unwrap();
        prop_assert!(same(&load(&got, Limits::default()).unwrap(), &new));
        prop_assert!(changed_lines(&text, &got).unwrap() <= 1, "{}\n---\n{}", text, got);
    }
}
