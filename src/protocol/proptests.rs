//! Property tests: every value and message round-trips; no input (random, or mutated from a
//! valid line) panics or returns anything but `Ok` or `ProtocolError`; decoding is stable
//! (`decode(encode(decode(x))) == decode(x)`).
//!
//! Input counts (printed with `--nocapture`): about 1.3 million decoded strings in total, most
//! from `mutated_lines_never_panic`, which tries every truncation, deletion, insertion and
//! replacement (from an alphabet of grammar characters) at every position of a valid line.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

use super::*;

/// Text biased towards the characters the grammar cares about.
fn arb_text() -> BoxedStrategy<String> {
    prop_oneof![
        any::<String>(),
        "[ a-z0-9|\\\\\\[\\]{}'\":,.\\-\\n\\r\\t\u{2028}\u{85}\u{0}é😀]{0,16}",
        Just(String::new()),
        prop_oneof![
            Just("null"),
            Just("true"),
            Just("12"),
            Just("-0.5e3"),
            Just("low"),
            Just(" ")
        ]
        .prop_map(String::from),
    ]
    .boxed()
}

fn arb_required_text() -> impl Strategy<Value = String> {
    arb_text().prop_map(|s| if s.is_empty() { "x".to_string() } else { s })
}

fn arb_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
        (-1000i32..1000).prop_map(|x| Number::from_f64(f64::from(x) / 8.0).unwrap()),
    ]
}

fn arb_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        arb_number().prop_map(Value::Number),
        arb_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((arb_text(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
    .boxed()
}

fn arb_unit() -> impl Strategy<Value = f64> {
    prop_oneof![0.0f64..=1.0, Just(0.0), Just(1.0), Just(0.5)]
}

fn arb_complexity() -> impl Strategy<Value = Complexity> {
    prop_oneof![
        Just(Complexity::Low),
        Just(Complexity::Medium),
        Just(Complexity::High),
        Just(Complexity::Critical),
        arb_unit().prop_map(Complexity::Score),
    ]
}

fn arb_depth() -> impl Strategy<Value = Depth> {
    prop_oneof![
        arb_required_text().prop_map(Depth::Named),
        any::<i64>().prop_map(Depth::Level)
    ]
}

fn arb_message() -> BoxedStrategy<Message> {
    let t = arb_text;
    let r = arb_required_text;
    prop_oneof![
        (r(), r(), arb_complexity())
            .prop_map(|(title, intent, complexity)| TaskCreate {
                title,
                intent,
                complexity
            }
            .into())
            .boxed(),
        (r(), arb_unit(), t())
            .prop_map(|(task_id, confidence, reason)| TaskSplit {
                task_id,
                confidence,
                reason
            }
            .into())
            .boxed(),
        (r(), arb_value())
            .prop_map(|(workflow_id, params)| WorkflowStart {
                workflow_id,
                params
            }
            .into())
            .boxed(),
        (r(), arb_depth())
            .prop_map(|(context_id, depth)| ContextLoad { context_id, depth }.into())
            .boxed(),
        (r(), arb_value(), r())
            .prop_map(|(key, value, memory_type)| MemoryStore {
                key,
                value,
                memory_type
            }
            .into())
            .boxed(),
        (r(), arb_unit(), r())
            .prop_map(|(task_id, confidence, routing)| TaskReady {
                task_id,
                confidence,
                routing
            }
            .into())
            .boxed(),
        (r(), arb_value(), arb_value())
            .prop_map(|(task_id, result, next_steps)| TaskComplete {
                task_id,
                result,
                next_steps
            }
            .into())
            .boxed(),
        (r(), r(), arb_unit())
            .prop_map(|(entity_id, status, progress)| StatusUpdate {
                entity_id,
                status,
                progress
            }
            .into())
            .boxed(),
        (r(), t())
            .prop_map(|(context_id, summary)| ContextLoaded {
                context_id,
                summary
            }
            .into())
            .boxed(),
        (r(), t(), t())
            .prop_map(|(code, message, recovery)| ErrorEvent {
                code,
                message,
                recovery
            }
            .into())
            .boxed(),
    ]
    .boxed()
}

/// Decodes `s`; whatever decodes must re-encode to a line that decodes equal.
fn check_input(s: &str, dir: Direction) {
    if let Ok(m) = decode(s, dir) {
        let line = m.encode();
        assert_eq!(
            decode(&line, dir).as_ref(),
            Ok(&m),
            "unstable: {s:?} -> {line:?}"
        );
    }
}

/// [`check_input`] in both directions.
fn check_any_input(s: &str) {
    check_input(s, Direction::Command);
    check_input(s, Direction::Event);
}

static MUTATED: AtomicUsize = AtomicUsize::new(0);
const ALPHABET: [char; 16] = [
    '|', '\\', '[', ']', '{', '}', '\'', '"', ':', ',', '\n', ' ', '0', '-', 'u', 'é',
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn values_round_trip(v in arb_value()) {
        let enc = encode_value(&v);
        let back = decode_value(&enc).map_err(|e| TestCaseError::fail(format!("{enc:?}: {e}")))?;
        prop_assert_eq!(&back, &v, "{}", enc);
        prop_assert_eq!(encode_value(&back), enc);
    }

    #[test]
    fn messages_round_trip(m in arb_message(), before in arb_text(), after in arb_text()) {
        prop_assert!(m.validate().is_ok());
        let line = m.encode();
        let dir = m.direction();
        let back = decode(&line, dir).map_err(|e| TestCaseError::fail(format!("{line:?}: {e}")))?;
        prop_assert_eq!(&back, &m, "{}", line);
        prop_assert_eq!(back.encode(), line.clone());
        let breaks = ['\n', '\r', '\u{2028}', '\u{2029}', '\u{85}'];
        prop_assert!(!line.contains(breaks), "line break in {:?}", line);

        // Bracketed inside prose on one line, and on its own line, extract finds exactly it.
        // Prose has no brackets, line breaks, backticks or colons: with a colon it could end
        // in a command of its own (`cl:` right before the bracket reads as a bare `cl`).
        let prose = |s: &str| s.replace(['[', ']', '\n', '\r', '`', ':'], "_");
        let text = format!("{} [{line}] {}", prose(&before), prose(&after));
        let x = extract(&text, dir);
        prop_assert!(x.errors.is_empty(), "{:?}", x.errors);
        prop_assert_eq!(x.messages.len(), 1, "{}", text);
        prop_assert_eq!(&x.messages[0].message, &m);
        let text = format!("Intro.\n{line}\nOutro.");
        let x = extract(&text, dir);
        prop_assert_eq!(x.messages.len(), 1, "{}", text);
        prop_assert_eq!(&x.messages[0].message, &m);
        prop_assert_eq!(x.text, "Intro.\nOutro.");
    }

    #[test]
    fn random_input_never_panics(s in arb_text(), t in any::<String>()) {
        for input in [&s, &t] {
            check_any_input(input);
            let _ = decode_value(input);
            for dir in [Direction::Command, Direction::Event] {
                let _ = extract(input, dir);
                let _ = decode(&format!("tc:{input}"), dir);
                let _ = decode(&format!("wf:w|{input}"), dir);
            }
        }
    }
}

/// Every truncation, deletion, insertion and replacement (from [`ALPHABET`]) at every
/// position of `m`'s canonical line; returns how many inputs were tried.
fn mutate_all(m: &Message) -> usize {
    let line = m.encode();
    let dir = m.direction();
    let cuts: Vec<usize> = line
        .char_indices()
        .map(|(i, _)| i)
        .chain([line.len()])
        .collect();
    let mut n = 0usize;
    let mut buf = String::with_capacity(line.len() + 8);
    for (k, &i) in cuts.iter().enumerate() {
        let next = cuts.get(k + 1).copied().unwrap_or(line.len());
        check_input(&line[..i], dir);
        buf.clear();
        buf.push_str(&line[..i]);
        buf.push_str(&line[next..]);
        check_input(&buf, dir);
        n += 2;
        for ch in ALPHABET {
            buf.clear();
            buf.push_str(&line[..i]);
            buf.push(ch);
            buf.push_str(&line[i..]);
            check_input(&buf, dir);
            if ch == '|' {
                let _ = extract(&format!("ok [{buf}] ok\n{buf}"), dir);
            }
            buf.clear();
            buf.push_str(&line[..i]);
            buf.push(ch);
            buf.push_str(&line[next..]);
            check_input(&buf, dir);
            n += 2;
        }
    }
    MUTATED.fetch_add(n, Ordering::Relaxed);
    n
}

// Two tests (commands, events) so the bulk of the inputs runs on two threads.
proptest! {
    #![proptest_config(ProptestConfig { cases: 330, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_commands_never_panic(m in arb_message().prop_filter("command", |m| m.direction() == Direction::Command)) {
        mutate_all(&m);
    }

    #[test]
    fn mutated_events_never_panic(m in arb_message().prop_filter("event", |m| m.direction() == Direction::Event)) {
        mutate_all(&m);
    }
}

#[test]
fn hostile_inputs_are_bounded() {
    // Deep nesting, long lines and bracket storms return promptly with an error or nothing.
    let deep = format!("wf:w|{}", "[".repeat(MAX_LINE_BYTES - 10));
    assert!(decode(&deep, Direction::Command).is_err());
    let deep_obj = format!("wf:w|{}", "{a:".repeat(20_000));
    assert!(decode(&deep_obj, Direction::Command).is_err());
    let storm = "[tc:a|b|".repeat(30_000) + "]";
    let x = extract(&storm, Direction::Command);
    assert!(x.messages.len() + x.errors.len() <= 30_000);
    let many = "[tc:a|b|low] ".repeat(20_000);
    assert_eq!(extract(&many, Direction::Command).messages.len(), 20_000);
    let quotes = format!("[wf:x|'{}]", "a".repeat(200_000));
    let _ = extract(&quotes, Direction::Command);
}

#[test]
fn zz_report_counts() {
    // A record, not an assertion: with `--test-threads 1 --nocapture` this runs last and
    // prints how many mutated inputs the two mutation tests tried.
    eprintln!("mutated inputs so far: {}", MUTATED.load(Ordering::Relaxed));
}
