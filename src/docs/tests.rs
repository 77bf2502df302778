//! Unit tests of the parts that need no store: paths, YAML in and out, merge.
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

proptest! {
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
