"""Generated (never real) secrets inside code, YAML, JSON and log lines, for the anonymiser's
tests and benchmark; and ordinary source code to measure how often harmless text is redacted.

``secret_corpus(seed, n)`` returns ``(documents, secrets)``: every secret appears in at least
one document, in the shapes people write them.
"""

from __future__ import annotations

import json
import random
import string
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

B62 = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
UPPER = string.ascii_uppercase + string.digits


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _secrets(rng: random.Random) -> dict[str, str]:
    return {
        "aws_access_key_id": "AKIA" + _r(rng, UPPER, 16),
        "aws_secret": _r(rng, B62 + "+/", 40),
        "github": "ghp_" + _r(rng, B62, 36),
        "github_pat": f"github_pat_{_r(rng, B62, 22)}_{_r(rng, B62, 59)}",
        "gitlab": "glpat-" + _r(rng, B62 + "-_", 20),
        "slack": f"xoxb-{_r(rng, string.digits, 12)}-{_r(rng, string.digits, 13)}-"
        + _r(rng, B62, 24),
        "slack_webhook": "https://hooks.slack.com/services/T"
        + _r(rng, UPPER, 8)
        + "/B"
        + _r(rng, UPPER, 8)
        + "/"
        + _r(rng, B62, 24),
        "stripe": "sk_live_" + _r(rng, B62, 24),
        "twilio": "AC" + _r(rng, HEX, 32),
        "openai": "sk-proj-" + _r(rng, B62, 48),
        "anthropic": "sk-ant-api03-" + _r(rng, B62 + "-_", 60),
        "google": "AIza" + _r(rng, B62 + "-_", 35),
        "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ"
        + _r(rng, B62, 40)
        + "."
        + _r(rng, B62 + "-_", 43),
        "hex_key": _r(rng, HEX, 32),
        "password": _r(rng, B62, 10) + rng.choice("!#%&") + _r(rng, string.digits, 2),
        "db_password": _r(rng, B62, 14),
        "email": f"{_r(rng, string.ascii_lowercase, 6)}.{_r(rng, string.ascii_lowercase, 5)}"
        "@example-corp.com",
        "ipv4": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "home_user": _r(rng, string.ascii_lowercase, 7),
        "private_key_body": _r(rng, B62 + "+/", 64),
    }


def _documents(s: dict[str, str]) -> list[str]:
    pk = (
        "-----BEGIN RSA PRIVATE KEY-----\n"
        f"{s['private_key_body']}\n{s['private_key_body'][::-1]}\n"
        "-----END RSA PRIVATE KEY-----"
    )
    python = f'''import boto3
AWS_ACCESS_KEY_ID = "{s["aws_access_key_id"]}"
aws_secret_access_key = "{s["aws_secret"]}"
client = Github("{s["github"]}")
stripe.api_key = "{s["stripe"]}"
openai.api_key = '{s["openai"]}'
db = connect(host="db", user="app", password="{s["password"]}")
SLACK_WEBHOOK = "{s["slack_webhook"]}"
'''
    indented_pk = pk.replace("\n", "\n    ")
    yaml = f"""services:
  api:
    environment:
      GITLAB_TOKEN: {s["gitlab"]}
      SLACK_BOT_TOKEN: {s["slack"]}
      DATABASE_URL: postgres://app:{s["db_password"]}@db.internal:5432/main
      TWILIO_ACCOUNT_SID: {s["twilio"]}
      signing_key: {s["hex_key"]}
    volumes:
      - /home/{s["home_user"]}/data:/data
tls:
  key: |
    {indented_pk}
"""
    js = json.dumps(
        {
            "owner": s["email"],
            "credentials": {"password": s["password"], "token": s["github_pat"]},
            "anthropic_api_key": s["anthropic"],
            "maps": {"key": s["google"]},
            "jwt": s["jwt"],
        },
        indent=2,
    )
    log = (
        f"2026-11-22T10:00:00Z INFO  login ok user={s['email']} from {s['ipv4']}\n"
        f"2026-11-22T10:00:01Z DEBUG Authorization: Bearer {s['jwt']}\n"
        f"2026-11-22T10:00:02Z ERROR upload failed: token={s['hex_key']} "
        f"path=/home/{s['home_user']}/uploads\n"
    )
    return [python, yaml, js, log]


def secret_corpus(seed: int = 0, n: int = 50) -> tuple[list[str], set[str]]:
    rng = random.Random(seed)
    docs: list[str] = []
    secrets: set[str] = set()
    for _ in range(n):
        s = _secrets(rng)
        docs += _documents(s)
        secrets |= {v for k, v in s.items() if k != "home_user"} | {"/home/" + s["home_user"]}
    return docs, secrets


def ordinary_code(limit_bytes: int = 2_000_000) -> list[str]:
    """Python standard library sources (real, ordinary code) up to ``limit_bytes``."""
    root = Path(sysconfig.get_paths()["stdlib"])
    out: list[str] = []
    total = 0
    for p in sorted(root.glob("*.py")):
        text = p.read_text(errors="replace")
        out.append(text)
        total += len(text)
        if total >= limit_bytes:
            break
    return out


# --- the recall corpus: every gitleaks rule and vendor formats, in six contexts -----------------

SECRETS_DIR = Path(__file__).resolve().parent / "data" / "secrets"
# Corpus name -> the generator's seed (scripts/secrets_corpus.py).
CORPUS_SEEDS = {"main": 1, "heldout": 2}


def recall_corpus(name: str) -> list[dict[str, str]]:
    """The committed corpus ``name`` ("main" or "heldout"): one dict a line with ``rule``,
    ``context``, ``secret`` and ``text`` (the secret occurs once in the text)."""
    path = SECRETS_DIR / f"corpus-{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@dataclass
class Recall:
    total: int = 0
    caught: int = 0
    # rule -> texts whose secret was not wholly inside one redacted span
    missed: dict[str, list[str]] = field(default_factory=dict)
    # texts where a redaction touched the secret but did not cover it whole
    partial: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.caught / self.total if self.total else 1.0


def measure_recall(scan: Callable[[str], list[Any]], entries: list[dict[str, str]]) -> Recall:
    """A secret counts as caught when one finding of ``scan(text)`` covers all of it."""
    r = Recall()
    for e in entries:
        text, secret = e["text"], e["secret"]
        i = text.index(secret)
        j = i + len(secret)
        spans = [(f.start, f.end) for f in scan(text)]
        r.total += 1
        if any(s <= i and j <= t for s, t in spans):
            r.caught += 1
            continue
        r.missed.setdefault(e["rule"], []).append(text)
        if any(s < j and i < t for s, t in spans):
            r.partial.append(text)
    return r
