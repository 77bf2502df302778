//! The export document of one repository (`zerolag.patterns/1`): plain JSON, times in Unix
//! seconds, the same from every backend, and what `import` reads back.

use serde_json::{json, Map, Value};

use super::model::{self, Dump, Fix, Issue, IssueExport, Pattern, Session, EXPORT_FORMAT};
use crate::error::{Error, Result};

/// The dump as a JSON document.
pub fn to_json(d: &Dump) -> Value {
    let patterns: Vec<Value> = d
        .patterns
        .iter()
        .map(|p| {
            json!({
                "id": p.id, "type": p.r#type, "data": p.data, "confidence": p.confidence,
                "observations": p.observations, "first_seen": model::secs(p.first_ms),
                "last_seen": model::secs(p.last_ms),
            })
        })
        .collect();
    let issues: Vec<Value> = d
        .issues
        .iter()
        .map(|e| {
            let i = &e.issue;
            json!({
                "rule_id": i.rule, "count": i.count, "file": i.file, "severity": i.severity,
                "message": i.message, "first_seen": model::secs(i.first_ms),
                "last_seen": model::secs(i.last_ms),
                "days": e.days.iter().map(|(d, n)| json!([d, n])).collect::<Vec<_>>(),
            })
        })
        .collect();
    let fixes: Vec<Value> = d
        .fixes
        .iter()
        .map(|f| {
            json!({
                "rule_id": f.rule, "fix": f.fix, "accepted": f.accepted,
                "feedback": f.feedback, "time": model::secs(f.at_ms),
            })
        })
        .collect();
    let sessions: Vec<Value> = d
        .sessions
        .iter()
        .map(|s| json!({"summary": s.summary, "time": model::secs(s.at_ms)}))
        .collect();
    json!({
        "format": EXPORT_FORMAT, "repo": d.repo, "patterns": patterns, "issues": issues,
        "fixes": fixes, "sessions": sessions,
    })
}

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::validation(format!("not a pattern-memory export: {msg}"))
}

fn obj<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| bad(format!("{what} is not an object")))
}

fn list<'a>(m: &'a Map<String, Value>, k: &str) -> Result<&'a [Value]> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(bad(format!("{k:?} is not a list"))),
    }
}

fn s(m: &Map<String, Value>, k: &str) -> Result<String> {
    m.get(k)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| bad(format!("{k:?} is missing or not a string")))
}

fn u(m: &Map<String, Value>, k: &str) -> Result<u64> {
    m.get(k)
        .and_then(Value::as_u64)
        .ok_or_else(|| bad(format!("{k:?} is missing or not a count")))
}

fn f(m: &Map<String, Value>, k: &str) -> Result<f64> {
    m.get(k)
        .and_then(Value::as_f64)
        .ok_or_else(|| bad(format!("{k:?} is missing or not a number")))
}

fn t(m: &Map<String, Value>, k: &str) -> Result<u64> {
    model::ms_of(k, f(m, k)?)
}

/// Reads an export document; `repo` overrides the repository it came from.
pub fn from_json(v: &Value, repo: Option<&str>) -> Result<Dump> {
    let m = obj(v, "the document")?;
    match m.get("format").and_then(Value::as_str) {
        Some(EXPORT_FORMAT) => {}
        other => {
            return Err(bad(format!(
                "format is {other:?}, expected {EXPORT_FORMAT:?}"
            )))
        }
    }
    let repo = match repo {
        Some(r) => r.to_string(),
        None => s(m, "repo")?,
    };
    let mut d = Dump {
        repo: repo.clone(),
        patterns: vec![],
        issues: vec![],
        fixes: vec![],
        sessions: vec![],
    };
    for p in list(m, "patterns")? {
        let p = obj(p, "a pattern")?;
        d.patterns.push(Pattern {
            id: s(p, "id")?,
            repo: repo.clone(),
            r#type: s(p, "type")?,
            data: p.get("data").cloned().unwrap_or(Value::Null),
            confidence: f(p, "confidence")?,
            observations: u(p, "observations")?,
            first_ms: t(p, "first_seen")?,
            last_ms: t(p, "last_seen")?,
        });
    }
    for i in list(m, "issues")? {
        let i = obj(i, "an issue")?;
        let mut days = vec![];
        for x in list(i, "days")? {
            match x.as_array().map(Vec::as_slice) {
                Some([a, b]) => match (a.as_u64(), b.as_u64()) {
                    (Some(a), Some(b)) => days.push((a, b)),
                    _ => return Err(bad("a day is not [day, count]")),
                },
                _ => return Err(bad("a day is not [day, count]")),
            }
        }
        d.issues.push(IssueExport {
            issue: Issue {
                repo: repo.clone(),
                rule: s(i, "rule_id")?,
                count: u(i, "count")?,
                file: s(i, "file")?,
                severity: s(i, "severity")?,
                message: s(i, "message")?,
                first_ms: t(i, "first_seen")?,
                last_ms: t(i, "last_seen")?,
            },
            days,
        });
    }
    for x in list(m, "fixes")? {
        let x = obj(x, "a fix")?;
        d.fixes.push(Fix {
            repo: repo.clone(),
            rule: s(x, "rule_id")?,
            fix: s(x, "fix")?,
            accepted: x
                .get("accepted")
                .and_then(Value::as_bool)
                .ok_or_else(|| bad("\"accepted\" is missing or not a bool"))?,
            feedback: match x.get("feedback") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(bad("\"feedback\" is not a string")),
            },
            at_ms: t(x, "time")?,
        });
    }
    for x in list(m, "sessions")? {
        let x = obj(x, "a session")?;
        d.sessions.push(Session {
            repo: repo.clone(),
            summary: x.get("summary").cloned().unwrap_or(Value::Null),
            at_ms: t(x, "time")?,
        });
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_round_trip_and_bad_ones_are_refused() {
        let d = Dump {
            repo: "acme/api".into(),
            patterns: vec![Pattern {
                id: "p0123456789abcdef".into(),
                repo: "acme/api".into(),
                r#type: "naming".into(),
                data: json!({"a": [1, 2.5, null]}),
                confidence: 0.85,
                observations: 3,
                first_ms: 1_763_000_000_123,
                last_ms: 1_763_000_000_999,
            }],
            issues: vec![IssueExport {
                issue: Issue {
                    repo: "acme/api".into(),
                    rule: "E501".into(),
                    count: 4,
                    file: "a.py".into(),
                    severity: "warning".into(),
                    message: "long".into(),
                    first_ms: 1_763_000_000_001,
                    last_ms: 1_763_000_000_002,
                },
                days: vec![(20_400, 1), (20_401, 3)],
            }],
            fixes: vec![Fix {
                repo: "acme/api".into(),
                rule: "E501".into(),
                fix: "wrap".into(),
                accepted: true,
                feedback: None,
                at_ms: 1_763_000_000_003,
            }],
            sessions: vec![Session {
                repo: "acme/api".into(),
                summary: json!({"n": 1}),
                at_ms: 1_763_000_000_004,
            }],
        };
        let v = to_json(&d);
        assert_eq!(from_json(&v, None).ok(), Some(d.clone()));
        let renamed = from_json(&v, Some("acme/copy")).map(|x| x.fixes[0].repo.clone());
        assert_eq!(renamed.ok().as_deref(), Some("acme/copy"));
        assert!(from_json(&json!({"format": "x"}), None).is_err());
        assert!(from_json(&json!([]), None).is_err());
        let mut bad = v.clone();
        bad["issues"][0]["days"] = json!([[1]]);
        assert!(from_json(&bad, None).is_err());
    }
}
