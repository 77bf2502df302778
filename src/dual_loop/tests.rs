//! Unit tests of the prompt budget and the session state (the loop tests cover them through
//! Python on every backend).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use super::prompt::ELISION;
use super::*;
use crate::protocol::decode_event;

fn est() -> Counter<'static, ()> {
    Counter::estimate()
}

#[test]
fn fits_and_keeps_everything_when_small() {
    let p = build(
        "sys",
        &["tc:a|b|low  -> t_1, queued"],
        &[(false, "a [t_1]: queued under 1 s")],
        "hi",
        &Budget::default(),
        &mut est(),
    )
    .unwrap();
    assert_eq!(
        p.system,
        "sys\n\n# Recent commands\ntc:a|b|low  -> t_1, queued\n\n# Backend status\na [t_1]: queued under 1 s"
    );
    assert_eq!(p.user, "hi");
    assert!(p.trimmed.is_empty());
    assert_eq!(p.tokens, [1, 8, 8, 1, 0]);
}

#[test]
fn empty_status_reads_idle_and_empty_system_is_left_out() {
    let p = build("", &[], &[], "hi", &Budget::default(), &mut est()).unwrap();
    assert_eq!(p.system, "# Backend status\nidle");
}

#[test]
fn trims_in_priority_order_and_counts_what_is_left() {
    let lines: Vec<String> = (0..50)
        .map(|i| format!("tc:task number {i}|x|low  -> t_{i}, queued"))
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let st: Vec<(bool, &str)> = refs
        .iter()
        .enumerate()
        .map(|(i, l)| (i % 2 == 0, *l))
        .collect();
    let user = "u".repeat(5000);
    let b = Budget {
        total: 1800,
        ..Budget::default()
    };
    let p = build(&"s".repeat(1000), &refs, &st, &user, &b, &mut est()).unwrap();
    assert_eq!(p.trimmed, vec!["system", "commands", "status", "user"]);
    assert!(p.tokens.iter().sum::<i64>() <= 1800, "{:?}", p.tokens);
    assert_eq!(p.tokens[0], 200);
    assert!(p.tokens[1] <= 300 && p.tokens[1] > 200, "{:?}", p.tokens);
    assert!(p.user.contains(ELISION) && p.user.starts_with('u') && p.user.ends_with('u'));
    // The newest command lines are the ones kept.
    assert!(p.system.contains("task number 49|"));
    assert!(!p.system.contains("task number 0|"));
}

#[test]
fn cuts_count_characters_not_bytes() {
    let user = "é".repeat(100);
    let b = Budget {
        user: 10,
        ..Budget::default()
    };
    let p = build("", &[], &[], &user, &b, &mut est()).unwrap();
    assert!(estimate(&p.user) <= 10);
    assert!(p.user.chars().filter(|c| *c == 'é').count() >= 30);
}

#[test]
fn a_custom_counter_is_used_and_its_error_comes_through() {
    let mut words =
        |s: &str| -> std::result::Result<i64, String> { Ok(s.split_whitespace().count() as i64) };
    let b = Budget {
        user: 3,
        ..Budget::default()
    };
    let p = build(
        "",
        &[],
        &[],
        "one two three four five six",
        &b,
        &mut Counter::custom(&mut words),
    )
    .unwrap();
    assert!(p.user.split_whitespace().count() <= 3, "{}", p.user);
    let mut fails = |_: &str| -> std::result::Result<i64, String> { Err("no".into()) };
    let e = build("x", &[], &[], "y", &b, &mut Counter::custom(&mut fails)).unwrap_err();
    assert_eq!(e, "no");
}

#[test]
fn session_tracks_a_command_through_its_events() {
    let mut s = Session::default();
    s.add(Cmd::new(
        "tc:Export|data|low".into(),
        "tc".into(),
        "t_1".into(),
        "j1".into(),
        "Export".into(),
        100.0,
    ));
    assert_eq!(
        s.status_lines(100.5, 5.0),
        vec![(false, "Export [t_1]: queued under 1 s".to_string())]
    );
    assert_eq!(
        s.status_lines(110.0, 5.0)[0].1,
        "Export [t_1]: queued 10 s (no backend worker has picked it up yet; it stays queued)"
    );
    assert_eq!(s.waiting(110.0, 5.0), (1, 100.0));
    s.apply(
        &decode_event("su:t_1|in_progress|0.5").unwrap(),
        Some("j1"),
        111.0,
    );
    assert_eq!(
        s.status_lines(111.0, 5.0)[0].1,
        "Export [t_1]: in_progress 50%"
    );
    assert_eq!(s.waiting(200.0, 5.0).0, 0);
    s.apply(
        &decode_event("tc:t_1|{\"rows\": 3}|[]").unwrap(),
        None,
        112.0,
    );
    assert_eq!(
        s.status_lines(112.0, 5.0),
        vec![(true, "Export [t_1]: done: {\"rows\":3}".to_string())]
    );
    assert_eq!(s.command_lines(), vec!["tc:Export|data|low  -> t_1, done"]);
}

#[test]
fn handler_errors_stay_open_until_given_up() {
    let mut s = Session::default();
    s.add(Cmd::new(
        "cl:c1|shallow".into(),
        "cl".into(),
        "c1".into(),
        "j1".into(),
        "context c1".into(),
        1.0,
    ));
    s.apply(
        &decode_event("er:E_HANDLER|boom|retrying (attempt 1 of 3)").unwrap(),
        Some("j1"),
        2.0,
    );
    assert!(!s.status_lines(2.0, 5.0)[0].0);
    s.apply(
        &decode_event("er:E_HANDLER|boom|gave up after 3 attempts").unwrap(),
        Some("j1"),
        3.0,
    );
    let st = s.status_lines(3.0, 5.0);
    assert!(st[0].0 && st[0].1.contains("E_HANDLER: boom"), "{st:?}");
}

#[test]
fn adopted_commands_are_labelled_from_their_line() {
    let mut s = Session::default();
    let ev = decode_event("su:t_9|started|0.0").unwrap();
    s.adopt("tc:Billing report|reporting|medium", "j9", &ev, 5.0);
    s.apply(&ev, Some("j9"), 5.0);
    assert_eq!(
        s.status_lines(5.0, 5.0)[0].1,
        "Billing report [t_9]: started 0%"
    );
}

#[test]
fn only_the_last_commands_are_kept_and_shown() {
    let mut s = Session::default();
    for i in 0..100 {
        s.add(Cmd::new(
            format!("cl:c{i}|shallow"),
            "cl".into(),
            format!("c{i}"),
            format!("j{i}"),
            format!("context c{i}"),
            0.0,
        ));
    }
    assert!(s.by_job("j35").is_none() && s.by_job("j36").is_some());
    let st = s.status_lines(0.5, 5.0);
    assert_eq!(st[0].1, "40 older open commands not listed");
    assert_eq!(st.len(), 25);
    assert_eq!(s.command_lines().len(), 24);
}

#[test]
fn sessions_check_names_and_forget_the_least_recently_used() {
    let mut ss = Sessions::new(2);
    assert!(
        ss.get("bad name").is_err() && ss.get("").is_err() && ss.get(&"x".repeat(201)).is_err()
    );
    ss.get("a").unwrap();
    ss.get("b").unwrap();
    ss.get("a").unwrap();
    ss.get("c").unwrap();
    assert_eq!(ss.len(), 2);
    assert!(ss.map.contains_key("a") && ss.map.contains_key("c"));
}

#[test]
fn plan_gives_each_tc_a_task_and_each_command_its_job() {
    use crate::jobs::NewJob;
    use crate::protocol::decode_command;
    let mut templates = std::collections::HashMap::new();
    templates.insert(
        "tc".to_string(),
        NewJob::new("loop.tc", serde_json::Value::Null),
    );
    templates.insert(
        "cl".to_string(),
        NewJob::new("loop.cl", serde_json::Value::Null),
    );
    let cmds = vec![
        decode_command("tc:Export|data_export|medium").unwrap(),
        decode_command("cl:ctx1|shallow").unwrap(),
        decode_command("tc:Import|data_import|low").unwrap(),
    ];
    let p = plan("s1", &cmds, &templates, &[("t_given".into(), true)]).unwrap();
    assert_eq!(p.task_ids.len(), 2);
    assert_eq!(p.task_ids[0], "t_given");
    assert!(p.task_ids[1].starts_with("t_") && p.task_ids[1].len() == 14);
    assert_eq!(p.jobs[0].kind, "loop.tc");
    assert_eq!(p.jobs[0].payload["t"], "t_given");
    assert!(p.jobs[0].payload.get("n").is_none()); // indexed already
    assert_eq!(p.jobs[2].payload["n"], 1); // the worker indexes it
    assert_eq!(p.jobs[1].payload["e"], "ctx1");
    assert_eq!(p.jobs[1].payload["c"], "cl:ctx1|shallow");
    assert_eq!(p.pending[1].label, "context ctx1");
    assert_eq!(p.pending[2].label, "Import");
    let ms = vec![decode_command("ms:k|v|semantic").unwrap()];
    assert!(plan("s1", &ms, &templates, &[]).is_err());

    let mut s = Session::default();
    let ids = vec!["j1".to_string(), "j2".to_string(), "j3".to_string()];
    s.record(p.pending.clone(), &ids, 1.0);
    s.record(p.pending, &ids, 2.0); // known jobs are not added twice
    assert_eq!(s.command_lines().len(), 3);
}

#[test]
fn check_refuses_what_must_not_run() {
    let kinds = ["cl", "tc"];
    let ok = check("On it. [tc:Export|data|low]  Done soon.", &kinds, 16, 4096);
    assert!(ok.errors.is_empty() && ok.commands.len() == 1);
    assert_eq!(ok.text, "On it. Done soon.");
    let codes = |t: &str, n: usize, b: usize| -> Vec<String> {
        check(t, &kinds, n, b)
            .errors
            .into_iter()
            .map(|e| e.code)
            .collect()
    };
    assert_eq!(codes("[ms:k|v|semantic]", 16, 4096), ["E_UNKNOWN_COMMAND"]);
    assert_eq!(codes("[tc:only a title]", 16, 4096), ["E_PARSE"]);
    assert_eq!(codes("[tc:a|b|low] [tc:d|e|high]", 1, 4096), ["E_INVALID"]);
    assert_eq!(codes("[tc:a|b|low]", 16, 5), ["E_INVALID"]);
    assert_eq!(codes("[tc:a|b|notacomplexity]", 16, 4096), ["E_PARSE"]);
    let none = check("[ms:k|v|semantic]", &[], 16, 4096);
    assert!(none.errors[0].recovery.contains("none registered"));
    let unknown = check("[ms:k|v|semantic]", &kinds, 16, 4096);
    assert_eq!(unknown.errors[0].recovery, "use one of: cl, tc");
}

#[test]
fn memories_come_after_the_system_prompt_best_first_and_go_first_when_over() {
    let mems = [
        "user_location: I live in Berlin",
        "user_preference: dark mode",
    ];
    let p = build_with_memories(
        "sys",
        &mems,
        &["tc:a|b|low  -> t_1, queued"],
        &[],
        "hi",
        &Budget::default(),
        &mut est(),
    )
    .unwrap();
    assert_eq!(
        p.system,
        "sys\n\n# Relevant memories\nuser_location: I live in Berlin\nuser_preference: dark mode\n\n# Recent commands\ntc:a|b|low  -> t_1, queued\n\n# Backend status\nidle"
    );
    assert_eq!(p.tokens[4], 9 + 8);
    // Over its share: the lowest ranked go, the best stays.
    let b = Budget {
        memories: 10,
        ..Budget::default()
    };
    let p = build_with_memories("sys", &mems, &[], &[], "hi", &b, &mut est()).unwrap();
    assert!(p.system.contains("I live in Berlin") && !p.system.contains("dark mode"));
    assert_eq!(p.trimmed, vec!["memories"]);
    // Over the total: memories are trimmed before the recent commands.
    let b = Budget {
        total: 1 + 8 + 1 + 1 + 9,
        ..Budget::default()
    };
    let p = build_with_memories(
        "sys",
        &mems,
        &["tc:a|b|low  -> t_1, queued"],
        &[],
        "hi",
        &b,
        &mut est(),
    )
    .unwrap();
    assert_eq!(p.trimmed, vec!["memories"]);
    assert!(p.system.contains("I live in Berlin") && p.system.contains("tc:a|b|low"));
    // None given: no section, no tokens.
    let p = build_with_memories("sys", &[], &[], &[], "hi", &b, &mut est()).unwrap();
    assert!(!p.system.contains("memories") && p.tokens[4] == 0);
}
