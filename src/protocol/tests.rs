//! Unit tests: every kind, every error class, the escaping rule, extraction.

#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;

fn cmd(line: &str) -> Command {
    decode_command(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

fn ev(line: &str) -> Event {
    decode_event(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

fn err_c(line: &str) -> ProtocolError {
    decode_command(line).expect_err(line)
}

fn err_e(line: &str) -> ProtocolError {
    decode_event(line).expect_err(line)
}

/// encode(decode(line)) == line for lines already in canonical form.
fn canonical(line: &str, dir: Direction) {
    assert_eq!(decode(line, dir).unwrap().encode(), line);
}

#[test]
fn task_create() {
    let c = cmd("tc:User Authentication System|business_growth|high");
    assert_eq!(
        c,
        Command::TaskCreate(TaskCreate {
            title: "User Authentication System".into(),
            intent: "business_growth".into(),
            complexity: Complexity::High,
        })
    );
    canonical(
        "tc:User Authentication System|business_growth|high",
        Direction::Command,
    );
    let c = cmd("tc: Fix bug | bug_fix | 0.7 ");
    assert!(
        matches!(c, Command::TaskCreate(TaskCreate { complexity: Complexity::Score(x), .. }) if x == 0.7)
    );
    assert_eq!(c.encode(), "tc:Fix bug|bug_fix|0.7");
    assert!(
        matches!(cmd("tc:a|b|CRITICAL"), Command::TaskCreate(t) if t.complexity == Complexity::Critical)
    );
    assert!(
        matches!(cmd("tc:a|b|'low'"), Command::TaskCreate(t) if t.complexity == Complexity::Low)
    );
    // A title is text even when it looks like a number or a literal.
    assert!(matches!(cmd("tc:123|b|low"), Command::TaskCreate(t) if t.title == "123"));
    assert!(matches!(cmd("tc:{x}|b|low"), Command::TaskCreate(t) if t.title == "{x}"));
    assert!(matches!(cmd("tc:'q'|b|low"), Command::TaskCreate(t) if t.title == "'q'"));
}

#[test]
fn task_split() {
    let c = cmd("ts:auto|0.3|Complex multi-component system");
    assert_eq!(
        c,
        Command::TaskSplit(TaskSplit {
            task_id: "auto".into(),
            confidence: 0.3,
            reason: "Complex multi-component system".into(),
        })
    );
    canonical(
        "ts:auto|0.3|Complex multi-component system",
        Direction::Command,
    );
    assert!(
        matches!(cmd("ts:t|1|"), Command::TaskSplit(t) if t.confidence == 1.0 && t.reason.is_empty())
    );
}

#[test]
fn workflow_start() {
    let c = cmd("wf:project_planning|{name:'MyApp',scope:'web,mobile'}");
    let Command::WorkflowStart(w) = &c else {
        panic!()
    };
    assert_eq!(w.params, json!({"name": "MyApp", "scope": "web,mobile"}));
    canonical(
        "wf:project_planning|{name:'MyApp',scope:'web,mobile'}",
        Direction::Command,
    );
    let c = cmd(r#"wf:w|{ "a b" : [1, -2.5e3, true, null, {x: "y"},], n:nested_word }"#);
    let Command::WorkflowStart(w) = &c else {
        panic!()
    };
    assert_eq!(
        w.params,
        json!({"a b": [1, -2500.0, true, null, {"x": "y"}], "n": "nested_word"})
    );
    assert_eq!(
        c.encode(),
        "wf:w|{'a b':[1,-2500.0,true,null,{x:'y'}],n:'nested_word'}"
    );
    let Command::WorkflowStart(w) = cmd("wf:w|") else {
        panic!()
    };
    assert_eq!(w.params, json!(null));
}

#[test]
fn context_load() {
    assert_eq!(
        cmd("cl:conversation_2024|full"),
        Command::ContextLoad(ContextLoad {
            context_id: "conversation_2024".into(),
            depth: Depth::Named("full".into())
        })
    );
    let Command::ContextLoad(c) = cmd("cl:x|3") else {
        panic!()
    };
    assert_eq!(c.depth, Depth::Level(3));
    let Command::ContextLoad(c) = cmd("cl:x|'3'") else {
        panic!()
    };
    assert_eq!(c.depth, Depth::Named("3".into()));
    assert_eq!(c.encode(), "cl:x|'3'");
    canonical("cl:x|summary", Direction::Command);
    canonical("cl:x|-1", Direction::Command);
}

#[test]
fn memory_store() {
    let Command::MemoryStore(m) = cmd("ms:user_preference|{theme:'dark'}|semantic") else {
        panic!()
    };
    assert_eq!(m.key, "user_preference");
    assert_eq!(m.value, json!({"theme": "dark"}));
    assert_eq!(m.memory_type, "semantic");
    canonical(
        "ms:user_preference|{theme:'dark'}|semantic",
        Direction::Command,
    );
    let Command::MemoryStore(m) = cmd("ms:k|42|count") else {
        panic!()
    };
    assert_eq!(m.value, json!(42));
    let Command::MemoryStore(m) = cmd("ms:k|'42'|t") else {
        panic!()
    };
    assert_eq!(m.value, json!("42"));
    let Command::MemoryStore(m) = cmd("ms:k|v1.2.3|t") else {
        panic!()
    };
    assert_eq!(m.value, json!("v1.2.3"));
}

#[test]
fn events() {
    assert_eq!(
        ev("tr:task_123|0.85|one_shot"),
        Event::TaskReady(TaskReady {
            task_id: "task_123".into(),
            confidence: 0.85,
            routing: "one_shot".into()
        })
    );
    let Event::TaskComplete(t) = ev("tc:task_123|success|{next:['task_124','task_125']}") else {
        panic!()
    };
    assert_eq!(t.result, json!("success"));
    assert_eq!(t.next_steps, json!({"next": ["task_124", "task_125"]}));
    assert_eq!(
        ev("su:task_123|in_progress|0.45"),
        Event::StatusUpdate(StatusUpdate {
            entity_id: "task_123".into(),
            status: "in_progress".into(),
            progress: 0.45
        })
    );
    let Event::ContextLoaded(c) =
        ev("cl:conversation_123|Summary: Discussed auth implementation...")
    else {
        panic!()
    };
    assert_eq!(c.summary, "Summary: Discussed auth implementation...");
    let Event::Error(e) = ev("er:E_TIMEOUT|backend took too long|retry") else {
        panic!()
    };
    assert_eq!(
        (e.code.as_str(), e.message.as_str(), e.recovery.as_str()),
        ("E_TIMEOUT", "backend took too long", "retry")
    );
    for line in [
        "tr:task_123|0.85|one_shot",
        "tc:task_123|success|{next:['task_124','task_125']}",
        "su:task_123|in_progress|0.45",
        "cl:conversation_123|Summary: Discussed auth implementation...",
        "er:E_TIMEOUT|backend took too long|retry",
    ] {
        canonical(line, Direction::Event);
    }
}

#[test]
fn direction_matters() {
    assert!(matches!(
        decode("tc:a|b|high", Direction::Command),
        Ok(Message::Command(Command::TaskCreate(_)))
    ));
    assert!(matches!(
        decode("tc:a|b|high", Direction::Event),
        Ok(Message::Event(Event::TaskComplete(_)))
    ));
    assert!(matches!(
        decode("cl:a|b", Direction::Command),
        Ok(Message::Command(Command::ContextLoad(_)))
    ));
    assert!(matches!(
        decode("cl:a|b", Direction::Event),
        Ok(Message::Event(Event::ContextLoaded(_)))
    ));
    let e = err_c("tr:a|0.5|x");
    assert!(e.message.contains("event prefix"), "{e}");
    let e = err_e("ts:a|0.5|x");
    assert!(e.message.contains("a command prefix"), "{e}");
}

#[test]
fn error_classes() {
    // Unknown prefix, at its position.
    let e = err_c("  zz:a|b");
    assert_eq!(e.position, 2);
    assert!(e.expected.contains("tc, ts, wf, cl, ms"));
    // No prefix at all.
    assert_eq!(err_c("hello").position, 5);
    assert_eq!(err_c("").position, 0);
    // Missing fields.
    let e = err_c("tc:title|intent");
    assert_eq!(e.position, 15);
    assert!(e.message.contains("missing field `complexity`"), "{e}");
    assert!(err_c("ts:auto|0.3").message.contains("`reason`"));
    // Too many fields.
    let e = err_c("cl:a|full|extra");
    assert_eq!(e.position, 9);
    assert_eq!(e.expected, "end of the command");
    // Confidence and progress out of range or not numbers.
    let e = err_c("ts:a|1.5|r");
    assert_eq!(e.position, 5);
    assert!(e.message.contains("outside 0..1"));
    assert!(err_c("ts:a|-0.1|r").message.contains("outside"));
    assert!(err_c("ts:a|high|r").message.contains("not a number"));
    assert!(err_e("su:a|running|2").message.contains("outside"));
    // Complexity.
    assert!(err_c("tc:a|b|extreme")
        .message
        .contains("unknown complexity"));
    assert!(err_c("tc:a|b|1.01").message.contains("outside"));
    assert!(err_c("tc:a|b|[1]").expected.contains("low, medium"));
    // Depth.
    assert!(err_c("cl:a|1.5").message.contains("depth"));
    assert!(err_c("cl:a|").message.contains("depth"));
    // Empty required text.
    let e = err_c("tc:|b|low");
    assert_eq!(e.position, 3);
    assert!(e.message.contains("`title` is empty"));
    assert!(err_e("er:|m|r").message.contains("`code` is empty"));
    // Literals.
    let e = err_c("wf:w|{a:1");
    assert_eq!(e.position, 9);
    assert_eq!(e.expected, "`,` or `}`");
    assert_eq!(err_c("wf:w|{a 1}").expected, "`:` after the key");
    assert_eq!(err_c("wf:w|[1 2]").expected, "`,` or `]`");
    assert_eq!(err_c("wf:w|{:1}").expected, "a key or `}`");
    assert_eq!(err_c("wf:w|[,]").expected, "a value");
    assert!(err_c("wf:w|'open").expected.contains("closing '"));
    assert_eq!(err_c("wf:w|{a:1} trailing").expected, "end of the command");
    assert_eq!(err_c("ms:k|{a:1} x|t").expected, "`|` after field `value`");
    assert!(err_c("wf:w|1e999").message.contains("too large"));
    // Integers beyond 64 bits are refused, never read as a float.
    assert!(err_c("wf:w|18446744073709551616")
        .message
        .contains("too large"));
    assert!(err_c("wf:w|{n:-9223372036854775809}")
        .expected
        .contains("64 bits"));
    assert!(decode(
        "wf:w|[18446744073709551615,-9223372036854775808]",
        Direction::Command
    )
    .is_ok());
    // Escapes.
    assert!(err_c("tc:\\ud800|b|low").message.contains("surrogate"));
    assert!(err_c("tc:\\udc00|b|low").message.contains("surrogate"));
    // Line breaks.
    assert!(err_c("tc:a\nb|c|low").message.contains("one line"));
    assert!(err_c("tc:a|c|low\nmore").message.contains("one line"));
    // Nesting and size limits.
    let deep = format!(
        "wf:w|{}{}",
        "[".repeat(MAX_DEPTH + 1),
        "]".repeat(MAX_DEPTH + 1)
    );
    assert!(err_c(&deep).expected.contains("levels of nesting"));
    let ok = format!("wf:w|{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    cmd(&ok);
    let long = format!("tc:{}|b|low", "x".repeat(MAX_LINE_BYTES));
    let e = err_c(&long);
    assert_eq!(e.position, MAX_LINE_BYTES);
}

#[test]
fn validation_of_built_values() {
    let t = TaskSplit {
        task_id: "a".into(),
        confidence: 2.0,
        reason: String::new(),
    };
    assert!(t.validate().unwrap_err().message.contains("outside"));
    let t = TaskSplit {
        task_id: "a".into(),
        confidence: f64::NAN,
        reason: String::new(),
    };
    assert!(t.validate().is_err());
    let t = TaskCreate {
        title: String::new(),
        intent: "i".into(),
        complexity: Complexity::Low,
    };
    assert!(t.validate().is_err());
    let t = TaskCreate {
        title: "t".into(),
        intent: "i".into(),
        complexity: Complexity::Score(1.5),
    };
    assert!(t.validate().is_err());
    let c = ContextLoad {
        context_id: "c".into(),
        depth: Depth::Named(String::new()),
    };
    assert!(c.validate().is_err());
    let s = StatusUpdate {
        entity_id: "e".into(),
        status: "s".into(),
        progress: 0.5,
    };
    assert!(s.validate().is_ok());
}

#[test]
fn escaping_rule() {
    let title = " a|b\\c\nd\te [x] {y} 'q' \"z\" \u{2028}\u{1}é😀 ";
    let t = TaskCreate {
        title: title.into(),
        intent: "i".into(),
        complexity: Complexity::Low,
    };
    let line = t.encode();
    assert_eq!(
        line,
        "tc:\\ a\\|b\\\\c\\nd\\te \\[x\\] {y} 'q' \"z\" \\u2028\\u0001é😀\\ |i|low"
    );
    assert_eq!(cmd(&line), Command::TaskCreate(t));
    // Unknown escapes keep the backslash; `\uXXXX` and surrogate pairs decode.
    assert!(
        matches!(cmd(r"tc:C:\Users\x|b|low"), Command::TaskCreate(t) if t.title == r"C:\Users\x")
    );
    assert!(
        matches!(cmd(r"tc:\ud83d\ude00\u00e9|b|low"), Command::TaskCreate(t) if t.title == "😀é")
    );
    assert!(matches!(cmd(r"tc:a\|b|c|low"), Command::TaskCreate(t) if t.title == "a|b"));
    // In "any" fields text that would read as something else is quoted.
    for (v, enc) in [
        (json!("123"), "'123'"),
        (json!(""), "''"),
        (json!("null"), "'null'"),
        (json!("true"), "'true'"),
        (json!("{x}"), "\\{x}"),
        (json!("[x]"), "\\[x\\]"),
        (json!("'q'"), "\\'q'"),
        (json!("plain text"), "plain text"),
        (json!(-0.0), "0.0"),
        (json!(1.0), "1.0"),
        (json!(u64::MAX), "18446744073709551615"),
        (
            json!({"k-1": "it's", "a b": [], "": {}}),
            "{k-1:'it\\'s','a b':[],'':{}}",
        ),
    ] {
        assert_eq!(encode_value(&v), enc, "{v}");
        assert_eq!(decode_value(enc).unwrap(), v, "{enc}");
    }
}

#[test]
fn table_matches_structs() {
    let rust_names: [&[&str]; 10] = [
        TaskCreate::FIELD_NAMES,
        TaskSplit::FIELD_NAMES,
        WorkflowStart::FIELD_NAMES,
        ContextLoad::FIELD_NAMES,
        MemoryStore::FIELD_NAMES,
        TaskReady::FIELD_NAMES,
        TaskComplete::FIELD_NAMES,
        StatusUpdate::FIELD_NAMES,
        ContextLoaded::FIELD_NAMES,
        ErrorEvent::FIELD_NAMES,
    ];
    for (i, (spec, names)) in KINDS.iter().zip(rust_names).enumerate() {
        assert_eq!(spec.kind as usize, i, "table order");
        let table: Vec<&str> = spec.fields.iter().map(|f| f.name).collect();
        let rust: Vec<&str> = names
            .iter()
            .map(|n| if *n == "memory_type" { "type" } else { n })
            .collect();
        assert_eq!(table, rust, "{}", spec.name);
    }
    assert_eq!(
        recovery_hint("E_TIMEOUT"),
        Some("retry with a longer timeout or split the task")
    );
    assert!(recovery_hint("E_NOPE").is_none());
}

#[test]
fn extract_forms() {
    let reply = "I'll create that task for you right away! \n[Generating: tc:User Auth|business_growth|high]\nYou'll see the progress shortly.";
    let x = extract(reply, Direction::Command);
    assert_eq!(x.messages.len(), 1);
    assert!(x.errors.is_empty());
    assert_eq!(x.messages[0].line, 2);
    assert_eq!(
        &reply[x.messages[0].span.clone()],
        "[Generating: tc:User Auth|business_growth|high]"
    );
    assert_eq!(
        x.text,
        "I'll create that task for you right away! \nYou'll see the progress shortly."
    );

    let x = extract(
        "Sure! [tc:a|b|low] Done. Then [wf:w|{next:['x]','y']}].",
        Direction::Command,
    );
    assert_eq!(x.messages.len(), 2);
    assert_eq!(x.text, "Sure! Done. Then.");

    let x = extract(
        "Plan:\n\ntc:a|b|low\n\nms:k|v|t\n\nBye\n",
        Direction::Command,
    );
    assert_eq!(x.messages.len(), 2);
    assert_eq!(x.text, "Plan:\n\nBye\n");

    let x = extract(
        "Here:\n```\ntc:a|b|low\n\ncl:c|full\n```\nok",
        Direction::Command,
    );
    assert_eq!(x.messages.len(), 2);
    assert_eq!(x.text, "Here:\nok");

    // A fence with other content stays, without the command lines.
    let x = extract("```python\nx = 1\ntc:a|b|low\n```", Direction::Command);
    assert_eq!(x.messages.len(), 1);
    assert_eq!(x.text, "```python\nx = 1\n```");

    // Bullets and backticks on an own line.
    let x = extract("- `ts:auto|0.3|why`\n* cl:c|2", Direction::Command);
    assert_eq!(x.messages.len(), 2);
    assert_eq!(x.text, "");
}

#[test]
fn extract_leaves_prose() {
    for text in [
        "The tc: prefix means task create, see tc:a|b|c in the docs.",
        "tc: is short for task create",
        "[Note: tc:a only]",
        "[tc:a|b|low",
        "No commands here.\n\n\nReally.",
    ] {
        let x = extract(text, Direction::Command);
        assert!(x.messages.is_empty() && x.errors.is_empty(), "{text}");
        assert_eq!(x.text, text);
    }
    // Event prefixes are not commands.
    let x = extract("tr:t|0.5|one_shot", Direction::Command);
    assert!(x.messages.is_empty());
    let x = extract("tr:t|0.5|one_shot", Direction::Event);
    assert_eq!(x.messages.len(), 1);
}

#[test]
fn extract_reports_errors() {
    let x = extract(
        "Okay.\nts:auto|1.7|too sure\n[tc:a|b|huge] end",
        Direction::Command,
    );
    assert!(x.messages.is_empty());
    assert_eq!(x.errors.len(), 2);
    assert_eq!(x.errors[0].line, 2);
    assert_eq!(x.errors[0].source, "ts:auto|1.7|too sure");
    assert_eq!(x.errors[0].error.position, 8);
    assert_eq!(x.errors[1].source, "tc:a|b|huge");
    assert_eq!(x.errors[1].error.position, 7);
    assert_eq!(x.text, "Okay.\nend");
    let e = x.errors[0].to_event();
    assert_eq!(e.code, "E_PARSE");
    assert!(e.message.starts_with("line 2: "));
    assert!(e.validate().is_ok());
}
