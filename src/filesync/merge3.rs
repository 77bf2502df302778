//! Three-way merge of a document changed on both sides since the last sync: the file's and the
//! store's versions against the version both last agreed on (the base), field by field for
//! mappings. A field only one side changed takes that side's value; a field both changed to
//! the same value is no conflict; a field both changed differently is a conflict, settled by
//! the policy's side and reported with both values.

use serde_json::{Map, Value};

/// Which side a conflicting field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The store's value (the API's write).
    Store,
    /// The file's value (the person's edit).
    File,
}

/// One field both sides changed differently.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// Dotted path of the field (`""` for the whole document; keys with dots are kept as
    /// they are, so treat it as a label, not an address).
    pub field: String,
    /// The store's value (None: the store deleted it).
    pub store: Option<Value>,
    /// The file's value (None: the file deleted it).
    pub file: Option<Value>,
}

/// The merged document and the fields both sides changed differently.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The merged value (None: both sides, or the winning side, deleted the document's root;
    /// cannot happen for a document, kept for the recursion).
    pub value: Option<Value>,
    /// Fields settled by the policy.
    pub conflicts: Vec<Conflict>,
}

/// Merges `store` and `file` against `base`; conflicting fields take `prefer`'s value.
pub fn merge3(base: &Value, store: &Value, file: &Value, prefer: Side) -> Merged {
    let mut conflicts = Vec::new();
    let value = node(
        Some(base),
        Some(store),
        Some(file),
        prefer,
        &mut String::new(),
        &mut conflicts,
    );
    Merged { value, conflicts }
}

fn node(
    base: Option<&Value>,
    store: Option<&Value>,
    file: Option<&Value>,
    prefer: Side,
    at: &mut String,
    out: &mut Vec<Conflict>,
) -> Option<Value> {
    if store == file || file == base {
        return store.cloned();
    }
    if store == base {
        return file.cloned();
    }
    // Both changed, differently: mappings merge key by key, anything else conflicts.
    if let (Some(Value::Object(s)), Some(Value::Object(f))) = (store, file) {
        let empty = Map::new();
        let b = match base {
            Some(Value::Object(b)) => b,
            _ => &empty,
        };
        return Some(Value::Object(keys(b, s, f, prefer, at, out)));
    }
    out.push(Conflict {
        field: at.clone(),
        store: store.cloned(),
        file: file.cloned(),
    });
    match prefer {
        Side::Store => store.cloned(),
        Side::File => file.cloned(),
    }
}

/// Key by key; the order is the store's, then keys only the file has, in the file's order.
fn keys(
    b: &Map<String, Value>,
    s: &Map<String, Value>,
    f: &Map<String, Value>,
    prefer: Side,
    at: &mut String,
    out: &mut Vec<Conflict>,
) -> Map<String, Value> {
    let mut merged = Map::new();
    let order = s
        .keys()
        .chain(f.keys().filter(|k| !s.contains_key(*k)))
        .chain(
            b.keys()
                .filter(|k| !s.contains_key(*k) && !f.contains_key(*k)),
        );
    for k in order {
        let len = at.len();
        if !at.is_empty() {
            at.push('.');
        }
        at.push_str(k);
        if let Some(v) = node(b.get(k), s.get(k), f.get(k), prefer, at, out) {
            merged.insert(k.clone(), v);
        }
        at.truncate(len);
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(base: Value, store: Value, file: Value) -> Merged {
        merge3(&base, &store, &file, Side::Store)
    }

    #[test]
    fn different_fields_merge_without_conflict() {
        let r = m(
            json!({"a": 1, "b": 2, "c": {"x": 1, "y": 1}}),
            json!({"a": 10, "b": 2, "c": {"x": 1, "y": 5}}),
            json!({"a": 1, "b": 20, "c": {"x": 7, "y": 1}, "d": true}),
        );
        assert_eq!(
            r.value,
            Some(json!({"a": 10, "b": 20, "c": {"x": 7, "y": 5}, "d": true}))
        );
        assert!(r.conflicts.is_empty());
    }

    #[test]
    fn same_change_on_both_sides_is_no_conflict() {
        let r = m(json!({"a": 1}), json!({"a": 2}), json!({"a": 2}));
        assert_eq!((r.value, r.conflicts.len()), (Some(json!({"a": 2})), 0));
    }

    #[test]
    fn same_field_changed_differently_follows_the_policy() {
        let (b, s, f) = (
            json!({"a": {"x": 1}, "k": 0}),
            json!({"a": {"x": 2}, "k": 0}),
            json!({"a": {"x": 3}, "k": 1}),
        );
        let r = merge3(&b, &s, &f, Side::Store);
        assert_eq!(r.value, Some(json!({"a": {"x": 2}, "k": 1})));
        assert_eq!(
            r.conflicts,
            vec![Conflict {
                field: "a.x".into(),
                store: Some(json!(2)),
                file: Some(json!(3))
            }]
        );
        let r = merge3(&b, &s, &f, Side::File);
        assert_eq!(r.value, Some(json!({"a": {"x": 3}, "k": 1})));
        assert_eq!(r.conflicts.len(), 1);
    }

    #[test]
    fn deletions_merge_and_conflict_with_edits() {
        // The file deleted b, the store changed a: both apply.
        let r = m(
            json!({"a": 1, "b": 2}),
            json!({"a": 5, "b": 2}),
            json!({"a": 1}),
        );
        assert_eq!((r.value, r.conflicts.len()), (Some(json!({"a": 5})), 0));
        // The file deleted b, the store changed b: a conflict.
        let r = m(
            json!({"a": 1, "b": 2}),
            json!({"a": 1, "b": 3}),
            json!({"a": 1}),
        );
        assert_eq!(r.value, Some(json!({"a": 1, "b": 3})));
        assert_eq!(r.conflicts[0].field, "b");
        assert_eq!(r.conflicts[0].file, None);
        // Both added the same new key with different values.
        let r = m(json!({}), json!({"n": 1}), json!({"n": 2}));
        assert_eq!(r.conflicts[0].field, "n");
    }

    #[test]
    fn lists_and_type_changes_are_whole_values() {
        let r = m(
            json!({"l": [1, 2]}),
            json!({"l": [1, 2, 3]}),
            json!({"l": [0, 1, 2]}),
        );
        assert_eq!(r.value, Some(json!({"l": [1, 2, 3]})));
        assert_eq!(r.conflicts[0].field, "l");
        let r = m(json!({"v": 1}), json!({"v": {"x": 1}}), json!({"v": [1]}));
        assert_eq!(r.conflicts.len(), 1);
        // The root itself: not mappings on both sides.
        let r = m(json!([1]), json!([2]), json!([3]));
        assert_eq!(
            (r.value, r.conflicts[0].field.as_str()),
            (Some(json!([2])), "")
        );
    }

    #[test]
    fn key_order_is_the_stores_then_the_files_new_keys() {
        let r = m(
            json!({"a": 1, "b": 1}),
            json!({"b": 2, "a": 1, "s": 1}),
            json!({"a": 3, "f": 1, "b": 1}),
        );
        let v = r.value.unwrap_or_default();
        let order: Vec<&String> = v
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(order, ["b", "a", "s", "f"]);
    }
}
