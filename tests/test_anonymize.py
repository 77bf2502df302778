"""zerolag.anonymize / Anonymizer: generated secrets in code, YAML, JSON and logs disappear,
placeholders are stable and keyed, options work, bad rules are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import zerolag
from anonymize_corpus import (
    CORPUS_SEEDS,
    SECRETS_DIR,
    measure_recall,
    ordinary_code,
    recall_corpus,
    secret_corpus,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import secrets_corpus  # noqa: E402


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_generated_secret_survives(seed: int) -> None:
    docs, secrets = secret_corpus(seed, n=20)
    out = "\n".join(zerolag.anonymize(d) for d in docs)
    survived = sorted(s for s in secrets if s in out)
    assert survived == [], survived[:5]
    assert out.count("[REDACTED:") >= len(docs) * 3


@pytest.mark.parametrize("seed", [4, 5])
def test_documents_split_into_lines_leak_nothing(seed: int) -> None:
    """Storing a document line by line (a PEM body line alone, without BEGIN/END) is as safe
    as storing it whole."""
    docs, secrets = secret_corpus(seed, n=10)
    a = zerolag.Anonymizer()
    out = "\n".join(a.anonymize(line) for d in docs for line in d.splitlines())
    survived = sorted(s for s in secrets if s in out)
    assert survived == [], survived[:5]


def test_the_default_key_comes_from_the_environment() -> None:
    code = (
        "import zerolag; print(zerolag.Anonymizer().anonymize('mail ana@example.org'), "
        "zerolag.anonymize('mail ana@example.org'))"
    )

    def run(env_key: str | None) -> list[str]:
        env = {k: v for k, v in os.environ.items() if k != "ZEROLAG_ANONYMIZE_KEY"}
        if env_key is not None:
            env["ZEROLAG_ANONYMIZE_KEY"] = env_key
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    plain, k1, k1_again, k2 = run(None), run("team-secret-1"), run("team-secret-1"), run("other")
    assert k1 == k1_again and k1 != plain and k1 != k2
    default = zerolag.Anonymizer(key=b"zerolag-anonymize-default-key-v1")
    assert plain[1] == default.anonymize("ana@example.org") and plain[1] == plain[3]
    assert k1[1] == k1[3], "zerolag.anonymize follows the same default"


def test_json_documents_and_every_string_inside(tmp_path: object) -> None:
    docs, secrets = secret_corpus(7, n=10)
    a = zerolag.Anonymizer()
    for d in docs:
        try:
            value = json.loads(d)
        except ValueError:
            continue
        text = json.dumps(a.anonymize_json(value))
        assert not [s for s in secrets if s in text], text


def test_placeholders_are_stable_keyed_and_not_the_secret() -> None:
    text = "token=ghp_" + "a1B2" * 9
    once, twice = zerolag.anonymize(text), zerolag.anonymize(text)
    assert once == twice and once.startswith("token=[REDACTED:github_token:")
    keyed = zerolag.Anonymizer(key=b"store-key")
    assert keyed.anonymize(text) != once
    assert keyed.anonymize(text) == zerolag.Anonymizer(key=b"store-key").anonymize(text)
    assert "a1B2" not in once


def test_scan_reports_offsets_in_characters() -> None:
    text = "héllo ana@example.org"
    [f] = zerolag.Anonymizer().scan(text)
    assert (f.category, f.rule) == ("email", "email")
    assert text[f.start : f.end] == "ana@example.org"
    assert f.placeholder in zerolag.anonymize(text)


def test_categories_can_be_switched_off_and_rules_added() -> None:
    assert "email" in zerolag.Anonymizer.categories()
    a = zerolag.Anonymizer(disable=["email", "ip"], rules={"ticket": r"\bSEC-(?P<secret>\d{4,})\b"})
    out = a.anonymize("ana@example.org at 10.0.0.7 filed SEC-12345")
    assert out.startswith("ana@example.org at 10.0.0.7 filed SEC-[REDACTED:ticket:")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"disable": ["nope"]}, "unknown anonymisation category"),
        ({"rules": {"x": "("}}, "not a valid regex"),
        ({"rules": {"x": "a*"}}, "empty string"),
        ({"rules": {"bad name": "a"}}, "rule name"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(zerolag.ValidationError, match=match):
        zerolag.Anonymizer(**kwargs)  # type: ignore[arg-type]


def test_ordinary_code_is_rarely_touched() -> None:
    """A guard, not a benchmark: the standard library's own code (real, ordinary source)
    gets few redactions; the rate is reported by `make bench`."""
    lines = [line for doc in ordinary_code(500_000) for line in doc.splitlines()]
    a = zerolag.Anonymizer()
    hit = [line for line in lines if a.scan(line)]
    assert len(hit) / len(lines) < 0.01, hit[:20]


# --- recall on the corpus built from gitleaks' rules and vendor token formats ----------------


@pytest.mark.parametrize("name", sorted(CORPUS_SEEDS))
def test_the_committed_corpora_are_what_the_generator_makes(name: str) -> None:
    committed = (SECRETS_DIR / f"corpus-{name}.jsonl").read_text()
    assert committed == secrets_corpus.dumps(CORPUS_SEEDS[name]), (
        f"tests/data/secrets/corpus-{name}.jsonl differs from the generator's output: run "
        f"python scripts/secrets_corpus.py {CORPUS_SEEDS[name]} "
        f"> tests/data/secrets/corpus-{name}.jsonl"
    )


def test_every_rule_not_excluded_is_in_the_corpus() -> None:
    ids = {r["id"] for r in secrets_corpus.rules()}
    assert set(secrets_corpus.EXCLUDED) <= ids, "an exclusion names no rule"
    covered = {e["rule"] for e in recall_corpus("main")}
    assert ids - set(secrets_corpus.EXCLUDED) <= covered
    contexts = {e["context"] for e in recall_corpus("main")}
    assert contexts == {"assignment", "prose", "json", "yaml", "url", "log"}


@pytest.mark.parametrize("name", sorted(CORPUS_SEEDS))
def test_recall_on_the_corpus_is_at_least_99_percent(name: str) -> None:
    r = measure_recall(zerolag.Anonymizer().scan, recall_corpus(name))
    report = "\n".join(
        f"{rule}: {len(texts)} missed, e.g. {texts[0]!r}"
        for rule, texts in sorted(r.missed.items())
    )
    assert r.rate >= 0.99, f"recall {r.caught}/{r.total} = {r.rate:.2%}\n{report}"


@pytest.mark.parametrize("name", sorted(CORPUS_SEEDS))
def test_no_secret_is_partly_redacted(name: str) -> None:
    """A redaction that touches a secret covers all of it (a kept tail is a leak)."""
    r = measure_recall(zerolag.Anonymizer().scan, recall_corpus(name))
    assert r.partial == [], r.partial[:10]


@pytest.mark.parametrize("name", sorted(CORPUS_SEEDS))
def test_the_structured_api_catches_the_json_contexts(name: str) -> None:
    a = zerolag.Anonymizer()
    entries = [e for e in recall_corpus(name) if e["context"] == "json"]
    survived = [
        e for e in entries if e["secret"] in json.dumps(a.anonymize_json(json.loads(e["text"])))
    ]
    assert len(survived) <= 0.01 * len(entries), [e["text"] for e in survived[:10]]


@pytest.mark.parametrize("lead", list("$*%[{<"))
def test_a_password_starting_with_a_template_character_is_still_a_password(lead: str) -> None:
    a = zerolag.Anonymizer()
    secret = lead + "ecretPassw0rd"
    out = a.anonymize_json({"password": secret, "db": {"db_password": secret}})
    assert secret not in json.dumps(out), out
    assert out["password"].startswith("[REDACTED:password_assignment:")
    assert secret not in a.anonymize(f'password = "{secret}"')


@pytest.mark.parametrize(
    "reference",
    [
        "${DB_PASSWORD}",
        "$DB_PASSWORD",
        "$db_password",
        "%(password)s",
        "%DB_PASSWORD%",
        "{{ .Values.db.password }}",
        "{password}",
        "<your-password>",
        "[REDACTED]",
        "********",
    ],
)
def test_references_to_a_password_are_left_alone(reference: str) -> None:
    a = zerolag.Anonymizer()
    assert a.anonymize_json({"password": reference}) == {"password": reference}
    assert a.anonymize(f'password = "{reference}"') == f'password = "{reference}"'


@pytest.mark.parametrize(
    "template",
    [
        "redis://[user:password@]host[:port][/db]",
        "Connect with redis://[[username]:[password]]@localhost:6379/0",
        "unix://[username@]/path/to/socket.sock?db=0[&password=password]",
        "rediss://[user:password@]host:6380",
    ],
)
def test_a_url_template_in_docs_is_not_a_secret(template: str) -> None:
    assert zerolag.Anonymizer().scan(template) == [], zerolag.anonymize(template)


SECRET_CATEGORIES_EXCLUDED = {"email", "ip"}  # personal data, redacted on purpose


def test_stdlib_lines_flagged_as_secrets_are_at_most_a_hundredth_of_a_percent() -> None:
    """The standard library's own code (the text the benchmark measures) is not secret: at
    most 0.01 % of its lines get a secret-type redaction (e-mail and IP addresses are
    personal data and are redacted on purpose, so they do not count)."""
    a = zerolag.Anonymizer()
    lines = [line for doc in ordinary_code(2_000_000) for line in doc.splitlines()]
    hit = [
        line
        for line in lines
        if any(f.category not in SECRET_CATEGORIES_EXCLUDED for f in a.scan(line))
    ]
    assert len(hit) <= 0.0001 * len(lines), (len(hit), len(lines), hit[:20])
