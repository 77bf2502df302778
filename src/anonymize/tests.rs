//! Generated (never real) secrets in code, YAML, JSON and log lines must all disappear;
//! ordinary text must stay as it is.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::*;

const B62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn pick(rng: &mut StdRng, set: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| set[rng.random_range(0..set.len())] as char)
        .collect()
}

/// One generated secret per kind, as it would appear.
fn secrets(rng: &mut StdRng) -> Vec<(&'static str, String)> {
    let b64 = |rng: &mut StdRng, n| {
        pick(
            rng,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            n,
        )
    };
    vec![
        ("aws_access_key_id", format!("AKIA{}", pick(rng, UPPER, 16))),
        ("github_token", format!("ghp_{}", pick(rng, B62, 36))),
        (
            "github_pat",
            format!("github_pat_{}_{}", pick(rng, B62, 22), pick(rng, B62, 59)),
        ),
        ("gitlab_token", format!("glpat-{}", pick(rng, B62, 20))),
        (
            "slack_token",
            format!(
                "xoxb-{}-{}-{}",
                pick(rng, b"0123456789", 12),
                pick(rng, b"0123456789", 13),
                pick(rng, B62, 24)
            ),
        ),
        ("stripe_key", format!("sk_live_{}", pick(rng, B62, 24))),
        ("twilio_account_sid", format!("AC{}", pick(rng, HEX, 32))),
        ("openai_key", format!("sk-proj-{}", pick(rng, B62, 48))),
        ("google_api_key", format!("AIza{}", pick(rng, B62, 35))),
        ("npm_token", format!("npm_{}", pick(rng, B62, 36))),
        (
            "jwt",
            format!(
                "eyJhbGciOiJIUzI1NiJ9.eyJ{}.{}",
                pick(rng, B62, 30),
                pick(rng, B62, 43)
            ),
        ),
        (
            "sendgrid_key",
            format!("SG.{}.{}", pick(rng, B62, 22), pick(rng, B62, 43)),
        ),
        ("aws_secret_access_key_value", b64(rng, 40)),
        ("hex_token", pick(rng, HEX, 40)),
        (
            "password",
            format!("{}!{}", pick(rng, B62, 8), pick(rng, b"0123456789", 3)),
        ),
    ]
}

fn corpus(rng: &mut StdRng) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (kind, s) in secrets(rng) {
        let lines = match kind {
            "aws_secret_access_key_value" => vec![
                format!("aws_secret_access_key = {s}"),
                format!("AWS_SECRET_ACCESS_KEY: \"{s}\""),
                format!("{{\"aws_secret_key\": \"{s}\"}}"),
            ],
            "hex_token" => vec![
                format!("api_key = \"{s}\""),
                format!("  auth_token: {s}"),
                format!("2026-11-22T10:00:00Z INFO using token={s} for upload"),
            ],
            "password" => vec![
                format!("DB_PASSWORD=\"{s}\""),
                format!("  password: {s}"),
                format!("conn = connect(user='app', password='{s}')"),
                format!("{{\"db\": {{\"password\": \"{s}\"}}}}"),
                format!("postgres://app:{s}@db.internal:5432/main"),
            ],
            _ => vec![
                format!("TOKEN = \"{s}\"  # do not commit"),
                format!("  key: {s}"),
                format!("{{\"credential\": \"{s}\", \"n\": 1}}"),
                format!("2026-11-22 10:00:01 ERROR request failed auth={s} status=401"),
                format!("curl -H 'Authorization: Bearer {s}' https://api.example.com"),
                format!("export THING={s}"),
            ],
        };
        for l in lines {
            out.push((s.clone(), l));
        }
    }
    out
}

#[test]
fn generated_secrets_never_survive() {
    let a = Anonymizer::new(&[], &[], None).unwrap();
    for seed in 0..20 {
        let mut rng = StdRng::seed_from_u64(seed);
        for (secret, line) in corpus(&mut rng) {
            let out = a.anonymize(&line);
            assert!(!out.contains(&secret), "seed {seed}: {line:?} -> {out:?}");
            assert!(out.contains("[REDACTED:"), "{out}");
        }
    }
}

#[test]
fn placeholders_are_stable_and_keyed() {
    let a = Anonymizer::new(&[], &[], None).unwrap();
    let t = "token ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ here";
    assert_eq!(a.anonymize(t), a.anonymize(t));
    assert!(a.anonymize(t).starts_with("token [REDACTED:github_token:"));
    let b = Anonymizer::new(&[], &[], Some(b"another key")).unwrap();
    assert_ne!(a.anonymize(t), b.anonymize(t));
    let other = "token ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIK here";
    assert_ne!(a.anonymize(t), a.anonymize(other));
}

#[test]
fn personal_data_and_paths() {
    let a = Anonymizer::new(&[], &[], None).unwrap();
    let out = a.anonymize("mail ana.perez@example.org from 10.1.2.3 via fe80::1:2:3 at /home/ana/src and C:\\Users\\bob\\x");
    for gone in [
        "ana.perez@example.org",
        "10.1.2.3",
        "fe80::1:2:3",
        "/home/ana/",
        "\\Users\\bob",
    ] {
        assert!(!out.contains(gone), "{out}");
    }
    assert!(out.contains("/home/[REDACTED:home_directory:"), "{out}");
    // Loopback and masks are not personal.
    assert_eq!(
        a.anonymize("listen on 127.0.0.1 and 0.0.0.0"),
        "listen on 127.0.0.1 and 0.0.0.0"
    );
    let off = Anonymizer::new(&["email".into(), "ip".into()], &[], None).unwrap();
    assert_eq!(
        off.anonymize("ana@example.org 10.1.2.3"),
        "ana@example.org 10.1.2.3"
    );
}

#[test]
fn private_key_blocks_go_whole() {
    let a = Anonymizer::new(&[], &[], None).unwrap();
    let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx1\nabcDEF==\n-----END RSA PRIVATE KEY-----";
    let out = a.anonymize(&format!("cfg:\n{key}\nrest"));
    assert!(!out.contains("MIIEow") && out.ends_with("\nrest"), "{out}");
    let cut = a.anonymize("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA");
    assert!(!cut.contains("b3BlbnNz"), "{cut}");
}

#[test]
fn key_material_lines_on_their_own_go() {
    let a = Anonymizer::new(&[], &[], None).unwrap();
    let line = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi8x5Ga0R7N6pEb1qU+F9ZkL2yXw/Hs";
    for text in [
        line.to_string(),
        format!("  {line}  "),
        format!("notes\n{line}\r\nmore"),
    ] {
        let out = a.anonymize(&text);
        assert!(
            !out.contains("MIIEpAIBAA") && out.contains("key_material"),
            "{out}"
        );
    }
    // Not random enough, or not alone on its line: left alone.
    for text in [
        "A".repeat(64),
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl".to_string(),
        format!("x = {line}(y)"),
    ] {
        assert!(!a.anonymize(&text).contains("key_material"), "{text}");
    }
}

#[test]
fn ordinary_text_is_left_alone() {
    let a = Anonymizer::new(&[], &[], None).unwrap();
    for s in [
        "def get_token(self): return self._token",
        "password = os.environ['DB_PASSWORD']",
        "password: ${DB_PASSWORD}",
        "token = None",
        "api_key = settings.API_KEY",
        "The password field is required.",
        "key = 'user_profile'",
        "version 1.2.3 released; see https://example.com/docs",
        "for key, value in items.items():",
    ] {
        assert_eq!(a.anonymize(s), s);
    }
}

#[test]
fn json_values_under_secret_keys() {
    let a = Anonymizer::new(&[], &[], None).unwrap();
    let v = json!({
        "db": {"password": "hunter2!", "user": "app"},
        "api_key": "9f86d081884c7d659a2feaa0c55ad015",
        "token": "ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
        "note": "mail me at ana@example.org",
        "list": ["AKIAABCDEFGHIJKLMNOP", 3, null],
        "name": "user_profile",
    });
    let out = a.anonymize_json(&v).to_string();
    for gone in [
        "hunter2!",
        "9f86d081884c7d659a2feaa0c55ad015",
        "ghp_abc",
        "ana@example.org",
        "AKIAABCDEFGHIJKLMNOP",
    ] {
        assert!(!out.contains(gone), "{out}");
    }
    assert!(
        out.contains("\"user\":\"app\"") && out.contains("\"name\":\"user_profile\""),
        "{out}"
    );
    assert!(out.contains("[REDACTED:github_token:"), "{out}");
}

#[test]
fn custom_rules_and_bad_configuration() {
    let extra = vec![(
        "internal_host".to_string(),
        r"\bcorp-(?P<secret>[a-z0-9]+)\.internal\b".to_string(),
    )];
    let a = Anonymizer::new(&[], &extra, None).unwrap();
    let out = a.anonymize("ssh corp-db7.internal");
    assert!(
        out.starts_with("ssh corp-[REDACTED:internal_host:") && out.ends_with("].internal"),
        "{out}"
    );
    assert!(Anonymizer::new(&["nope".into()], &[], None).is_err());
    assert!(Anonymizer::new(&[], &[("x".into(), "(".into())], None).is_err());
    assert!(Anonymizer::new(&[], &[("x".into(), "a*".into())], None).is_err());
    assert!(Anonymizer::new(&[], &[("bad name".into(), "a".into())], None).is_err());
}

#[test]
fn keyword_word_lists_match_the_patterns() {
    assert!(rules::builtins()
        .iter()
        .any(|b| b.pattern.contains(rules::password_words())));
    assert!(rules::builtins()
        .iter()
        .any(|b| b.pattern.contains(rules::key_words())));
}

/// Whether `secret` lies wholly inside one redaction of `text`.
fn wholly_redacted(a: &Anonymizer, text: &str, secret: &str) -> bool {
    let i = text.find(secret).unwrap();
    let j = i + secret.len();
    a.scan(text).iter().any(|f| f.start <= i && j <= f.end)
}

#[test]
fn values_starting_with_template_characters_are_secrets_unless_wholly_a_reference() {
    let a = Anonymizer::new(&[], &[], None).unwrap();
    for lead in ['$', '*', '%', '[', '{', '<'] {
        let secret = format!("{lead}ecretPassw0rd");
        let out = a.anonymize_json(&json!({ "password": secret })).to_string();
        assert!(!out.contains(&secret), "{out}");
        let text = format!("password = \"{secret}\"");
        assert!(wholly_redacted(&a, &text, &secret), "{text}");
    }
    for reference in [
        "${DB_PASSWORD}",
        "$DB_PASSWORD",
        "$db_password",
        "%(password)s",
        "%DB_PASSWORD%",
        "{{ .Values.password }}",
        "{password}",
        "<your-password>",
        "[REDACTED]",
        "****",
    ] {
        let v = json!({ "password": reference });
        assert_eq!(a.anonymize_json(&v), v);
        let text = format!("password = \"{reference}\"");
        assert_eq!(a.anonymize(&text), text);
    }
}

#[test]
fn prefixed_tokens_are_caught_without_a_keyword() {
    let a = Anonymizer::new(&[], &[], None).unwrap();
    for token in [
        "xapp-1-A0123456789-1234567890123-abcdef0123456789",
        "GOCSPX-AbCdEfGhIjKlMnOpQrStUvWxYz12",
        "ya29.a0AfH6SMBxxxYyyZzz0123456789abcdefGHIJ",
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh",
        "api_org_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh",
        "abc8Q~AbCdEfGhIjKlMnOpQrStUvWxYz01234",
        "MTA5ODc2NTQzMjEwOTg3NjU0.GaBcDe.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "dapi0123456789abcdef0123456789abcdef",
        "dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "shpat_0123456789abcdef0123456789abcdef",
        "HRKU-AA0123456789abcdefghijABCDEFGHIJ0123456789abcdefghijABCDEFGH",
        "dp.pt.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfG",
        "glsa_AbCdEfGhIjKlMnOpQrStUvWxYz012345_0123abcd",
        "hvs.CAESIAbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQr",
        "pypi-AgENdGVzdC5weXBpLm9yZwAbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQr",
    ] {
        let text = format!("I pasted {token} into the chat by mistake.");
        assert!(wholly_redacted(&a, &text, token), "{}", a.anonymize(&text));
    }
}

#[test]
fn secrets_without_a_prefix_are_caught_by_what_stands_near_them() {
    let a = Anonymizer::new(&[], &[], None).unwrap();
    let sk = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let tw = "3f9a0c6e1b2d4f5a8c7e9b0d1a2f3c4e";
    for (text, secret) in [
        (format!("keys: AKIAIOSFODNN7EXAMPLE / {sk}"), sk),
        (
            format!("{{\"AccessKeyId\": \"AKIAIOSFODNN7EXAMPLE\", \"SecretAccessKey\": \"{sk}\"}}"),
            sk,
        ),
        (format!("aws_secret_access_key = {sk}"), sk),
        (format!("The Twilio auth token is {tw} for now."), tw),
        (format!("TWILIO_AUTH_TOKEN={tw}"), tw),
    ] {
        assert!(wholly_redacted(&a, &text, secret), "{}", a.anonymize(&text));
    }
    let v = json!({"Credentials": {"SecretAccessKey": sk}});
    assert!(!a.anonymize_json(&v).to_string().contains(sk));
}

#[test]
fn webhooks_and_routable_tokens_go_whole() {
    let a = Anonymizer::new(&[], &[], None).unwrap();
    for secret in [
        "https://hooks.slack.com/workflows/T01ABCDEF/A0123456789/123456789012345678/AbCdEfGhIjKlMnOpQrStUvWx",
        "https://hooks.slack.com/services/T01ABCDEF/B0123456789/AbCdEfGhIjKlMnOpQrStUvWx",
        "glpat-AbCdEfGhIjKlMnOpQrStUvWxYz0.01.0abc12def",
        "glrt-t1_AbCdEfGhIjKlMnOpQrStUvWxYz0.01.0abc12def",
    ] {
        let text = format!("see {secret} today");
        assert!(wholly_redacted(&a, &text, secret), "{}", a.anonymize(&text));
    }
}

#[test]
fn connection_strings_and_configuration_files() {
    let a = Anonymizer::new(&[], &[], None).unwrap();
    let key = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/AbCdE=";
    for (text, secret) in [
        (format!("Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={key}"), key),
        ("//registry.npmjs.org/:_authToken=0f3c2a1b-4d5e-6f70-8192-a3b4c5d6e7f8".to_string(), "0f3c2a1b-4d5e-6f70-8192-a3b4c5d6e7f8"),
        ("    <password>hunter2!x</password>".to_string(), "hunter2!x"),
        ("<add key=\"ClearTextPassword\" value=\"s3cr3t-Value\" />".to_string(), "s3cr3t-Value"),
        ("DB_PASS=Xk9!mQ2pLz".to_string(), "Xk9!mQ2pLz"),
        ("Server=db;Database=main;User Id=app;Password=OnlyLetters;".to_string(), "OnlyLetters"),
        ("Driver={ODBC};Server=db;Uid=app;Pwd=AbCdEfGh12;".to_string(), "AbCdEfGh12"),
        ("  client_secret: Zx8-Qw7.Er6_Ty5~Ui4Op3As2Df1Gh0JkLz".to_string(), "Zx8-Qw7.Er6_Ty5~Ui4Op3As2Df1Gh0JkLz"),
    ] {
        assert!(wholly_redacted(&a, &text, secret), "{}", a.anonymize(&text));
    }
    // Code and documentation stay.
    for s in [
        "password = user;",
        "self.pwd = pwd",
        "redis://[user:password@]host[:port][/db]",
        "redis://[[username]:[password]]@localhost:6379/0",
    ] {
        assert_eq!(a.anonymize(s), s);
    }
}

#[test]
fn anchored_rules_run_only_where_their_anchor_is() {
    let a = Anonymizer::new(&[], &[], None).unwrap();
    for r in &a.rules {
        for &i in &r.anchors {
            assert!(
                i < a.prefilter.as_ref().unwrap().patterns_len(),
                "{}",
                r.name
            );
        }
    }
    // Anchors are matched case-insensitively: `HF_` finds the `hf_` rule's anchor.
    let text = "token HRKU-AA0123456789abcdefghijABCDEFGHIJ0123456789abcdefghijABCDEFGH here";
    assert!(a.anonymize(text).contains("[REDACTED:heroku_api_key:"));
    // Every built-in anchor is lowercase (the prefilter folds ASCII case only).
    for b in rules::builtins() {
        for anchor in b.anchors {
            assert_eq!(*anchor, anchor.to_ascii_lowercase(), "{}", b.name);
        }
    }
}
