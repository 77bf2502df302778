//! Unit tests of the parts that need no store (paths, YAML in and out, merge), then the
//! batch operations on both engines.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use proptest::prelude::*;
use serde_json::{json, Value};

use super::yaml::{dump, load, Limits};
use super::{check_path, merge, Format};

fn roots() -> Vec<String> {
    vec!["contexts".into(), "workflows".into()]
}

#[test]
fn paths_are_checked() {
    assert_eq!(
        check_path("contexts/a.yaml", &roots()).unwrap(),
        Format::Yaml
    );
    assert_eq!(
        check_path("workflows/x/y.json", &roots()).unwrap(),
        Format::Json
    );
    for bad in [
        "",
        "/etc/passwd.yaml",
        "contexts/../x.yaml",
        "contexts/./x.yaml",
        "contexts//x.yaml",
        "other/x.yaml",
        "contexts/x.txt",
        "contexts.yaml",
        "contexts\\x.yaml",
        "C:/contexts/x.yaml",
        "contexts/a\nb.yaml",
        "contexts/ x.yaml",
    ] {
        assert!(check_path(bad, &roots()).is_err(), "{bad:?}");
    }
}

#[test]
fn yaml_reads_the_core_schema() {
    let v = load(
        "a: 1\nb: -2.5\nc: true\nd: ~\ne: '1'\nf: [x, 'y', 0x1f]\ng:\n  h: |\n    line\n",
        Limits::default(),
    )
    .unwrap();
    assert_eq!(
        v,
        json!({"a": 1, "b": -2.5, "c": true, "d": null, "e": "1", "f": ["x", "y", 31], "g": {"h": "line\n"}})
    );
    assert_eq!(load("", Limits::default()).unwrap(), Value::Null);
    assert_eq!(
        load("base: &b {x: 1}\nuse: *b\n", Limits::default()).unwrap(),
        json!({"base": {"x": 1}, "use": {"x": 1}})
    );
}

#[test]
fn hostile_yaml_is_refused() {
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    let e = load(bomb, Limits::default()).unwrap_err().to_string();
    assert!(e.contains("alias bomb"), "{e}");
    let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    assert!(load(&deep, Limits::default())
        .unwrap_err()
        .to_string()
        .contains("deeper"));
    for bad in [
        "a: 1\na: 2\n",
        "a: [1\n",
        "--- 1\n--- 2\n",
        "x: !!python/object:os.system 1\n",
        "? [a]\n: 1\n",
        "x: .nan\n",
    ] {
        assert!(load(bad, Limits::default()).is_err(), "{bad:?}");
    }
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("true"),
            Just("1.5"),
            Just("- x"),
            Just("a: b"),
            Just(" lead"),
            Just("#c"),
            Just("null"),
            Just("~"),
            Just(""),
            Just("0x1"),
            Just(".inf"),
            Just("multi\nline")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(("\\PC{0,8}", inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// `load_json` must agree with `load` + `to_string` on everything: same output, same refusals.
fn same_as_load(text: &str) -> std::result::Result<(), TestCaseError> {
    let lim = Limits {
        max_depth: 8,
        max_nodes: 60,
    };
    let a = load(text, lim).map(|v| v.to_string());
    let b = super::yaml_json::load_json(text, lim);
    match (&a, &b) {
        (Ok(x), Ok(y)) => prop_assert_eq!(x, y, "{:?}", text),
        (Err(_), Err(_)) => {}
        _ => prop_assert!(false, "{:?}: load {:?}, load_json {:?}", text, a, b),
    }
    Ok(())
}

#[test]
fn json_loader_matches_the_value_loader() {
    let corpus = [
        "",
        "# only a comment\n",
        "a: 1\nb: [1, 2.5, -3, 0x1f, 0o17, 1e3, .5, +7]\nc: {d: null, e: ~, f: true}\n",
        "x: 123456789012345678901234567890\ny: 1e400\nz: -0.0\n",
        "s: 'single'\nd: \"double \\\" \\u00e9\"\nl: |\n  line one\n  line two\nf: >\n  folded\n  text\n",
        "base: &b {k: v, n: [1, 2]}\nuse: *b\nmore: [*b, *b]\n",
        "&k key: 1\n*k : 2\n",
        "? &s [1]\n: x\n",
        "a: &v 5\nb: {*v : six}\n",
        "a: 1\na: 2\n",
        "{a: 1, a: 2}",
        "- !!str 12\n- !!int 12\n- !!float 12\n- !!bool true\n- !!null ''\n- !!int x\n",
        "!!map {a: 1}",
        "!custom 1",
        "a: .nan\n",
        "a: -.inf\n",
        "a: '.inf'\n",
        "--- 1\n--- 2\n",
        "[[[[[[[[[[1]]]]]]]]]]",
        "a: &a [1,2,3,4,5,6,7,8,9]\nb: [*a,*a,*a,*a,*a,*a,*a,*a]\n",
        "a: *nope\n",
        "a: &x [1, *x]\n",
        "plain: hello world\nnum-like: 1.2.3\nyes: yes\nNo: off\n",
        "\"quoted key\": 1\n'other': 2\n3: three\nnull: n\ntrue: t\n1.5: f\n",
        "- a\n- - b\n  - c\n- {x: [y, {z: w}]}\n- []\n- {}\n",
        "a: [1, 2\n",
        "a:\tb\n",
        "unicode: \"\\u2028 \\t tab\"\nctl: \"\\x01\"\n",
    ];
    for text in corpus {
        same_as_load(text).unwrap();
    }
}

proptest! {
    #[test]
    fn json_loader_matches_on_dumped_values(v in value()) {
        same_as_load(&dump(&v))?;
    }

    #[test]
    fn json_loader_matches_on_yaml_like_noise(parts in prop::collection::vec(prop::sample::select(vec![
        "a", "b", "1", "0x1f", "2.5", ".inf", "~", "true", "'q'", "\"d\"", ":", ": ", " ", "  ",
        "\n", "\n  ", "- ", "[", "]", "{", "}", ", ", "&x ", "*x", "&y ", "*y", "!!str ", "!!int ",
        "? ", "#c", "|\n  ", "---\n",
    ]), 0..24)) {
        same_as_load(&parts.concat())?;
    }

    #[test]
    fn dump_then_load_is_the_same_value(v in value()) {
        let text = dump(&v);
        let back = load(&text, Limits::default()).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, v, "{}", text);
    }
}

#[test]
fn merge_is_deep_and_null_deletes() {
    let mut base = json!({"a": {"b": 1, "c": [1]}, "d": 1});
    merge(
        &mut base,
        &json!({"a": {"c": [2], "e": {"f": 1}}, "d": null, "g": "x"}),
    );
    assert_eq!(
        base,
        json!({"a": {"b": 1, "c": [2], "e": {"f": 1}}, "g": "x"})
    );
}

#[test]
fn merge_deletion_keeps_the_order_of_the_rest() {
    let mut base = json!({"a": 1, "b": 2, "c": 3, "d": 4});
    merge(&mut base, &json!({"a": null}));
    let keys: Vec<&String> = base.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["b", "c", "d"]);
}

mod batch {
    //! `states` and `import_many` decide as single writes do, on the embedded store and on
    //! Redis (see `crate::testkit`).
    use serde_json::json;

    use crate::docs::{Docs, Document, Imported, Origin, State};
    use crate::hub::Hub;
    use crate::testkit::both;

    /// Docs of namespace `<hub's namespace>-<suffix>` on the hub's store.
    fn docs(h: &Hub, suffix: &str) -> Docs {
        let ns = format!("{}-{suffix}", h.namespace());
        Docs::new(h.backend().clone(), ns.into())
    }

    /// A document without its times (which differ between two runs).
    fn strip(d: Option<Document>) -> Option<Document> {
        d.map(|d| Document {
            created: 0.0,
            updated: 0.0,
            ..d
        })
    }

    both!(import_many_is_the_same_as_single_file_writes);
    fn import_many_is_the_same_as_single_file_writes(h: &Hub) {
        let (one, many) = (docs(h, "one"), docs(h, "many"));
        // Before: a.yaml synced, b.yaml changed in the store only (text "b: 2"), c.yaml absent.
        for d in [&one, &many] {
            let w = d.text_write("contexts/a.yaml", "a: 1\n".into(), Origin::File, None);
            d.write(w.unwrap()).wait().unwrap();
            let w = d
                .value_write("contexts/b.yaml", &json!({"b": 2}), None)
                .unwrap();
            d.write(w).wait().unwrap();
        }
        let paths: Vec<String> = ["contexts/a.yaml", "contexts/b.yaml", "contexts/c.yaml"]
            .map(String::from)
            .to_vec();
        let st = many.states(paths.clone()).wait().unwrap();
        let a = one.get("contexts/a.yaml").wait().unwrap();
        let b = one.get("contexts/b.yaml").wait().unwrap();
        assert_eq!(
            st,
            vec![
                Some(State {
                    hash: a.hash.clone(),
                    synced: a.hash.clone(),
                    version: 1
                }),
                Some(State {
                    hash: b.hash.clone(),
                    synced: String::new(),
                    version: 1
                }),
                None
            ]
        );
        // The file side: a.yaml edited, b.yaml holds the store's text, c.yaml new.
        let texts = ["a: 10\n", "b: 2\n", "c: 3\n"];
        let mut writes = Vec::new();
        for ((p, t), s) in paths.iter().zip(texts).zip(&st) {
            let exp = s.as_ref().map_or(0, |s| s.version);
            writes.push(
                many.text_write(p, t.into(), Origin::File, Some(exp))
                    .unwrap(),
            );
            let w = one
                .text_write(p, t.into(), Origin::File, Some(exp))
                .unwrap();
            one.write(w).wait().unwrap();
        }
        // A stale one: nothing written.
        let stale = many
            .text_write("contexts/a.yaml", "a: 99\n".into(), Origin::File, Some(7))
            .unwrap();
        writes.push(stale);
        let got = many.import_many(writes).wait().unwrap();
        assert_eq!(
            got,
            vec![
                Imported::Stored(2),
                Imported::Same(1),
                Imported::Stored(1),
                Imported::Stale(2)
            ]
        );
        for p in &paths {
            let (x, y) = (
                one.get_opt(p).wait().unwrap(),
                many.get_opt(p).wait().unwrap(),
            );
            assert_eq!(strip(x), strip(y), "{p}");
            assert_eq!(one.base(p).wait().unwrap(), many.base(p).wait().unwrap());
        }
        let b = many.get("contexts/b.yaml").wait().unwrap();
        assert_eq!(b.synced, b.hash, "the same text is recorded as synced");
        // File-side writes are not queued (b.yaml stays queued from its store write).
        assert_eq!(many.pending(10).wait().unwrap(), ["contexts/b.yaml"]);
        assert_eq!(many.list("").wait().unwrap(), one.list("").wait().unwrap());
    }

    both!(import_many_takes_file_writes_only);
    fn import_many_takes_file_writes_only(h: &Hub) {
        let d = &h.docs;
        let w = d
            .value_write("contexts/a.yaml", &json!({"a": 1}), None)
            .unwrap();
        assert!(d.import_many(vec![w]).wait().is_err());
        assert!(d.get_opt("contexts/a.yaml").wait().unwrap().is_none());
        assert_eq!(d.import_many(vec![]).wait().unwrap(), vec![]);
        assert!(d.states(vec!["../x.yaml".into()]).wait().is_err());
    }
}
