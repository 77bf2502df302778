//! Pattern memory's main paths, each run on the embedded store and on Redis (see
//! `crate::testkit`); the Python suite covers expiry, retention and anonymisation on every
//! backend, Redis Cluster included.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use serde_json::{json, Value};

use super::*;
use crate::hub::Hub;
use crate::testkit::both;

const REPO: &str = "acme/api";
const DAY: f64 = 86_400.0;

/// Unix seconds `days` days ago.
fn days_ago(days: f64) -> f64 {
    model::now_ms() as f64 / 1e3 - days * DAY
}

/// The ids of `patterns`.
fn ids(patterns: &[Pattern]) -> Vec<&str> {
    patterns.iter().map(|p| p.id.as_str()).collect()
}

both!(store_get_update_delete);
fn store_get_update_delete(h: &Hub) {
    let pm = &h.patterns;
    let store = |repo: &str, ty: &str, data: Value, confidence: f64| {
        pm.store(repo, ty, &data, confidence).wait().unwrap()
    };
    let a = store(REPO, "naming", json!({"s": "snake"}), 0.9);
    let b = store(REPO, "naming", json!({"s": "camel"}), 0.4);
    let c = store(REPO, "Error Handling", json!({"wrap": true}), 0.7);
    let other = store("acme/web", "naming", json!({"s": "snake"}), 0.9);
    assert_ne!(a.id, other.id, "the id includes the repository");
    assert_eq!((c.r#type.as_str(), a.observations), ("error_handling", 1));
    let get =
        |ty: Option<&str>, min: f64, limit: usize| pm.get(REPO, ty, min, limit).wait().unwrap();
    assert_eq!(ids(&get(None, 0.0, 10)), [&a.id, &c.id, &b.id]);
    assert_eq!(ids(&get(Some("naming"), 0.5, 10)), [&a.id]);
    assert_eq!(ids(&get(None, 0.0, 2)), [&a.id, &c.id]);
    let again = store(REPO, "naming", json!({"s": "snake"}), 0.95);
    assert_eq!(
        (&again.id, again.observations, again.first_ms),
        (&a.id, 2, a.first_ms)
    );
    let up = pm.update(&b.id, Some(0.99), None, true).wait().unwrap();
    assert_eq!((up.confidence, up.observations), (0.99, 2));
    assert_eq!(
        ids(&get(Some("naming"), 0.0, 10)),
        [&b.id, &a.id],
        "index follows confidence"
    );
    let up = pm
        .update(&b.id, None, Some(&json!({"s": "pascal"})), false)
        .wait()
        .unwrap();
    assert_eq!((&up.data, up.observations), (&json!({"s": "pascal"}), 2));
    assert_eq!(pm.pattern(&b.id).wait().unwrap(), up);
    assert!(pm.delete(&b.id).wait().unwrap());
    assert!(!pm.delete(&b.id).wait().unwrap());
    assert!(matches!(pm.pattern(&b.id).wait(), Err(Error::NotFound(_))));
    assert_eq!(ids(&get(None, 0.0, 10)), [&a.id, &c.id]);
}

/// Issues, fixes and sessions of [`REPO`], some of them days old.
fn fill(pm: &Patterns) {
    pm.store(REPO, "naming", &json!({"n": [1, 2.5, null]}), 0.85)
        .wait()
        .unwrap();
    for i in 0..4 {
        let at = Some(days_ago(i as f64 * 4.0));
        pm.track_issue(REPO, "E501", &format!("f{i}.py"), "warning", "long", at)
            .wait()
            .unwrap();
    }
    pm.track_issue(REPO, "S105", "a.py", "high", "hardcoded", None)
        .wait()
        .unwrap();
    for i in 0..3 {
        let fb = format!("fb{i}");
        pm.record_fix(REPO, "E501", &format!("wrap {i}"), i != 1, Some(&fb), None)
            .wait()
            .unwrap();
    }
    pm.record_session(REPO, &json!({"reviewed": 12}), None)
        .wait()
        .unwrap();
}

both!(issues_fixes_sessions_and_export_import);
fn issues_fixes_sessions_and_export_import(h: &Hub) {
    let pm = &h.patterns;
    fill(pm);
    let top = pm.top_issues(REPO, 10, None).wait().unwrap();
    let counts: Vec<_> = top.iter().map(|i| (i.rule.as_str(), i.count)).collect();
    assert_eq!(counts, [("E501", 4), ("S105", 1)]);
    assert_eq!(top[0].file, "f3.py", "the last occurrence tracked");
    let recent = pm.top_issues(REPO, 10, Some(days_ago(5.0))).wait().unwrap();
    let counts: Vec<_> = recent.iter().map(|i| (i.rule.as_str(), i.count)).collect();
    assert_eq!(counts, [("E501", 2), ("S105", 1)]);
    let fixes = pm.fixes(REPO, None, 10).wait().unwrap();
    let texts: Vec<_> = fixes.iter().map(|f| f.fix.as_str()).collect();
    assert_eq!(texts, ["wrap 2", "wrap 1", "wrap 0"], "newest first");
    let acc = pm.acceptance(REPO).wait().unwrap();
    let acc: Vec<_> = acc
        .iter()
        .map(|a| (a.rule.as_str(), a.accepted, a.total))
        .collect();
    assert_eq!(acc, [("E501", 2, 3)]);
    let sessions = pm.sessions(REPO, 10).wait().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].summary, json!({"reviewed": 12}));
    let ins = pm.insights(REPO, 10, 7).wait().unwrap();
    let want = [
        ("fixes", 3),
        ("issues", 2),
        ("patterns", 1),
        ("sessions", 1),
    ];
    assert_eq!(ins.counts, want.map(|(k, v)| (k.to_string(), v)).into());
    // Import replaces what the repository held, and can rename it.
    let dump = pm.export(REPO).wait().unwrap();
    pm.store(REPO, "extra", &json!({}), 0.5).wait().unwrap();
    assert_eq!(pm.import(dump.clone()).wait().unwrap(), 1 + 2 + 3 + 1);
    assert_eq!(pm.export(REPO).wait().unwrap(), dump);
    let copy = Dump {
        repo: "acme/copy".into(),
        ..dump.clone()
    };
    pm.import(copy).wait().unwrap();
    let back = pm.export("acme/copy").wait().unwrap();
    assert_eq!(
        (back.repo.as_str(), &back.fixes[0].fix),
        ("acme/copy", &dump.fixes[0].fix)
    );
    assert_eq!(back.fixes.len(), dump.fixes.len());
}
