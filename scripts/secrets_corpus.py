"""Builds the anonymiser's recall corpus: generated (never real) secrets for every rule of
gitleaks' public rule set (tests/data/secrets/gitleaks_rules.json) and for vendor token formats
taken from vendor documentation (VENDOR below), each placed in several contexts (assignment,
prose, JSON, YAML, URL, log line).

    python scripts/secrets_corpus.py SEED > corpus.jsonl     # one JSON object a line

Each line: ``{"rule": ..., "context": ..., "secret": ..., "text": ...}``; ``secret`` occurs in
``text`` exactly once. The output depends only on the seed (and the rule file): the main corpus
is seed 1, the held-out corpus seed 2 (tests/data/secrets/corpus-*.jsonl; tests/test_anonymize.py
regenerates both and compares).

Secrets are generated from each rule's regex (its secret group; a small generator over Python's
regex parser, no dependency). Rules whose secret has a fixed prefix of three characters or more
(``glpat-``, ``hf_``...) are placed without any keyword near them in the prose, URL and log
contexts: they must be caught anywhere. Rules whose secret has no such prefix (gitleaks' "vendor
name near a value" rules) always have the vendor's name and the kind of secret near them.
EXCLUDED lists the rules left out, with the reason.
"""

from __future__ import annotations

import json
import random
import string
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

RULES = (
    Path(__file__).resolve().parent.parent / "tests" / "data" / "secrets" / "gitleaks_rules.json"
)
B62 = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
UPPER = string.ascii_uppercase + string.digits

# Rules left out of the corpus, and why.
EXCLUDED = {
    "pkcs12-file": "matches file names (.p12), not text",
    "kubernetes-secret-yaml": "needs a whole multi-line Kubernetes manifest, not one line",
    "curl-auth-header": "a whole curl command line; its bearer token is covered by the "
    "authorization-header vendor entries",
    "curl-auth-user": "a whole curl command line; user:password pairs are covered by the "
    "URL-credentials vendor entries",
    "jwt-base64": "a base64-encoded JWT (a JWT wrapped once more) matched by its encoded header "
    "only; the generator cannot produce a meaningful one from the rule",
    "sidekiq-sensitive-url": "user:password in a URL; covered by the URL-credentials entries",
    # Identifiers, not secrets: public by design (sent in OAuth URLs, shown in dashboards);
    # the secret paired with each has its own rule.
    "adobe-client-id": "a client id is public (OAuth), its secret has a rule",
    "asana-client-id": "a client id is public (OAuth), its secret has a rule",
    "bitbucket-client-id": "a client id is public (OAuth), its secret has a rule",
    "discord-client-id": "a client id is public (OAuth), its secret has a rule",
    "linkedin-client-id": "a client id is public (OAuth), its secret has a rule",
    "looker-client-id": "a client id is public (OAuth), its secret has a rule",
    "messagebird-client-id": "a client id is public (OAuth), its secret has a rule",
    "plaid-client-id": "a client id is public (OAuth), its secret has a rule",
    "new-relic-user-api-id": "an account id, not a secret; the key has a rule",
    "sendbird-access-id": "an application id, not a secret; the token has a rule",
    "sumologic-access-id": "an access id (like a user name); the access key has a rule",
    "flutterwave-public-key": "a public key, meant to be shipped in web pages",
    "lob-pub-api-key": "a publishable key, meant to be shipped in web pages",
    "mailgun-pub-key": "a public validation key, meant to be shipped in web pages",
    "new-relic-browser-api-token": "a browser key, meant to be shipped in web pages",
}

# The variable name used for a rule when its id does not satisfy the rule's own keyword.
NAMES = {
    "sonar-api-token": "sonar_token",
    "snyk-api-token": "snyk_api_token",
    "sidekiq-secret": "BUNDLE_ENTERPRISE__CONTRIBSYS__COM",
    "defined-networking-api-token": "dnkey_api_token",
    "freemius-secret-key": "secret_key",
    "hashicorp-tf-password": "administrator_login_password",
    "nuget-config-password": "nuget_password",
    "jfrog-identity-token": "artifactory_identity_token",
    "cohere-api-token": "cohere_api_token",
    "nytimes-access-token": "nytimes_access_token",
    "telegram-bot-api-token": "telegram_bot_api_token",
    "generic-api-key": "service_api_key",
    "dropbox-long-lived-api-token": "dropbox_api_token",
    "dropbox-short-lived-api-token": "dropbox_token",
}
# Rules that gitleaks applies to one file shape only: their assignment context is that shape.
SHAPES = {
    "freemius-secret-key": "$config = ['secret_key' => '{s}'];",
    "nuget-config-password": '<add key="ClearTextPassword" value="{s}" />',
    "hashicorp-tf-password": 'administrator_login_password = "{s}"',
}
# Rules whose secret has a prefix too common to stand alone (`sk_`): placed with their keyword.
NEEDS_KEYWORD = {"freemius-secret-key"}
# Hand-written secrets where the rule's regex is too loose to give a realistic one.
TEMPLATES: dict[str, Callable[[random.Random], str]] = {
    # `hooks.slack.com/(services|workflows|triggers)/…`: Slack's documented URL shapes.
    "slack-webhook-url": lambda rng: rng.choice(
        [
            f"https://hooks.slack.com/services/T{_r(rng, UPPER, 8)}/B{_r(rng, UPPER, 10)}/"
            f"{_r(rng, B62, 24)}",
            f"https://hooks.slack.com/triggers/T{_r(rng, UPPER, 8)}/{_r(rng, string.digits, 13)}/"
            f"{_r(rng, HEX, 32)}",
        ]
    ),
    # A PEM key flattened onto one line (as in .env files and JSON), body in 64-char runs.
    "private-key": lambda rng: _pem(rng),
}
# Rules whose first group is a part of the secret, not the secret.
WHOLE_MATCH = {"microsoft-teams-webhook"}

KEYWORD_TEMPLATE = r"(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)"
SAFE_ANY = B62 + "-_.+/="  # what `.` or a negated class produces: no quotes, no spaces


def _category(cat: int, rng: random.Random) -> str:
    if cat == C.CATEGORY_DIGIT:
        return rng.choice(string.digits)
    if cat == C.CATEGORY_WORD:
        return rng.choice(B62 + "_")
    return rng.choice(B62)


def _in(items: list[Any], rng: random.Random, icase: bool) -> str:
    chars: list[str] = []
    negate = False
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            chars.append(chr(av))
        elif op is C.RANGE:
            chars += [chr(c) for c in range(av[0], av[1] + 1)]
        elif op is C.CATEGORY:
            if av == C.CATEGORY_DIGIT:
                chars += list(string.digits)
            elif av == C.CATEGORY_WORD:
                chars += list(B62 + "_")
            elif av == C.CATEGORY_SPACE:
                chars.append(" ")
            else:  # \S, \W, \D inside a class
                chars += list(SAFE_ANY)
    if negate:
        pool = [c for c in SAFE_ANY if c not in chars]
    else:
        # `=` is padding: only where the pattern has it as a literal.
        pool = [c for c in chars if c not in "\r\n\t\\\"'`&?#%= "] or chars
    c = rng.choice(sorted(set(pool)))
    # Case-insensitive classes of letters give mixed case; hex stays as written.
    letters = sum(1 for c in pool if c.isalpha())
    return _case(c, rng) if icase and letters > 12 else c


def _case(c: str, rng: random.Random) -> str:
    return c.upper() if c.isalpha() and rng.random() < 0.5 else c


def _count(lo: int, hi: int, rng: random.Random) -> int:
    hi = lo + 24 if hi == C.MAXREPEAT else hi
    return rng.randint(lo, min(hi, lo + 24))


class _Gen:
    """Generates one string matching a parsed pattern; records each group's text."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.groups: dict[int, str] = {}
        self.lone = True

    def seq(self, items: Any, icase: bool) -> str:
        return "".join(self.node(op, av, icase) for op, av in items)

    def node(self, op: Any, av: Any, icase: bool) -> str:
        rng = self.rng
        if op is C.LITERAL:
            return chr(av)
        if op is C.ANY:
            # A lone `.` is almost always an unescaped dot (`hooks.slack.com`); a repeated
            # one (`.{8,}`) stands for any text.
            return "." if self.lone else rng.choice(SAFE_ANY)
        if op is C.NOT_LITERAL:
            return rng.choice(SAFE_ANY)
        if op is C.IN:
            return _in(av, rng, icase)
        if op is C.CATEGORY:
            return _category(av, rng)
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, hi, sub = av
            self.lone = False
            text = "".join(self.seq(sub, icase) for _ in range(_count(lo, hi, rng)))
            self.lone = True
            return text
        if op is C.SUBPATTERN:
            gid, add, dele, sub = av
            if add & C.SRE_FLAG_IGNORECASE:
                icase = True
            if dele & C.SRE_FLAG_IGNORECASE:
                icase = False
            text = self.seq(sub, icase)
            if gid is not None:
                self.groups[gid] = text
            return text
        if op is C.BRANCH:
            return self.seq(rng.choice(av[1]), icase)
        if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
            return ""
        if op is C.GROUPREF:
            return self.groups.get(av, "")
        raise ValueError(f"cannot generate {op}")


def _python_regex(go: str) -> str:
    """gitleaks' Go syntax to Python's: inline flags mid-pattern become scoped groups."""
    p = go.replace("[[:alnum:]]", "[A-Za-z0-9]").replace(r"\z", r"\Z")
    # `X(?i)rest` -> `X(?i:rest)`, closing where the enclosing group closes.
    while True:
        i = p.find("(?i)", 1)
        if i < 0:
            break
        depth, j = 0, i + 4
        while j < len(p):
            ch = p[j]
            if ch == "\\":
                j += 2
                continue
            if ch == "[":
                j = p.index("]", j + 2) + 1
                continue
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    break
                depth -= 1
            j += 1
        p = p[:i] + "(?i:" + p[i + 4 : j] + ")" + p[j:]
    return p


def _find_group(items: Any, gid: int) -> Any:
    for op, av in items:
        if op is C.SUBPATTERN:
            if av[0] == gid:
                return av
            found = _find_group(av[3], gid)
            if found is not None:
                return found
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            found = _find_group(av[2], gid)
            if found is not None:
                return found
        elif op is C.BRANCH:
            for b in av[1]:
                found = _find_group(b, gid)
                if found is not None:
                    return found
    return None


def _leading_literal(items: Any) -> int:
    """Length of the fixed text the pattern starts with (case aside)."""
    n = 0
    for op, av in items:
        if op is C.LITERAL:
            n += 1
        elif op is C.SUBPATTERN:
            inner = _leading_literal(av[3])
            n += inner
            if inner < sum(1 for _ in av[3]):
                return n
        elif op is C.AT:
            continue
        elif op is C.BRANCH:
            return n + min(_leading_literal(b) for b in av[1])
        else:
            return n
    return n


def _pem(rng: random.Random) -> str:
    kind = rng.choice(["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "])
    body = " ".join(_r(rng, B62 + "+/", 64) for _ in range(rng.randint(3, 6)))
    return f"-----BEGIN {kind}PRIVATE KEY----- {body}= -----END {kind}PRIVATE KEY-----"


def _secret_from_rule(rule: dict[str, Any], rng: random.Random) -> tuple[str, bool]:
    """One secret matching the rule's secret group, and whether it has a fixed prefix."""
    if rule["id"] in TEMPLATES:
        return TEMPLATES[rule["id"]](rng), True
    pattern = _python_regex(rule["regex"])
    parsed = P.parse(pattern)
    icase = bool(parsed.state.flags & C.SRE_FLAG_IGNORECASE)
    data = list(parsed)
    gid = rule.get("secretGroup", 1 if parsed.state.groups > 1 else 0)
    if rule["id"] in WHOLE_MATCH:
        gid = 0
    if gid:
        av = _find_group(data, gid)
        sub = av[3]
        if av[1] & C.SRE_FLAG_IGNORECASE:
            icase = True
    else:
        # The whole match, less a final terminator (`(?:[^a-z]|\z)`) that is not the secret.
        sub = data[:-1] if rule["regex"].endswith(r"|\z)") else data
    gen = _Gen(rng)
    for _ in range(200):
        s = gen.seq(sub, icase).strip().strip("\"'")
        if s and _random_enough(s, rule.get("entropy")):
            break
    # gitleaks' "vendor name near a value" rules need their keyword: so does the corpus.
    keyworded = KEYWORD_TEMPLATE in rule["regex"] or rule["id"] in NEEDS_KEYWORD
    prefixed = not keyworded and (
        _leading_literal([x for x in sub if x[0] is not C.AT]) >= 3 or "Q~" in s
    )
    return s, prefixed


def _entropy(s: str) -> float:
    import math

    n = len(s)
    return -sum(s.count(c) / n * math.log2(s.count(c) / n) for c in set(s))


def _random_enough(s: str, threshold: float | None) -> bool:
    return threshold is None or _entropy(s) >= threshold


def _kind_words(rule_id: str) -> tuple[str, str]:
    """`adafruit-api-key` -> (`adafruit_api_key`, `Adafruit API key`)."""
    name = NAMES.get(rule_id, rule_id.replace("-", "_"))
    words = rule_id.replace("-", " ").replace(" api ", " API ")
    return name, words[:1].upper() + words[1:]


# --- contexts -----------------------------------------------------------------------------

Contexts = dict[str, list[Callable[[str], str]]]


def _contexts(name: str, words: str, prefixed: bool) -> Contexts:
    up = name.upper()
    ctx: Contexts = {
        "assignment": [
            lambda s: f'{up} = "{s}"',
            lambda s: f"export {up}={s}",
            lambda s: f"    self.{name} = '{s}'  # TODO move to vault",
        ],
        "json": [
            lambda s: json.dumps({name: s, "retries": 3}),
            lambda s: json.dumps({"service": {"name": "billing", name: s}}),
        ],
        "yaml": [
            lambda s: f"  {name}: {s}",
            lambda s: f'{name}: "{s}"',
        ],
    }
    if prefixed:
        ctx["prose"] = [
            lambda s: f"I pasted {s} into the chat by mistake, sorry.",
            lambda s: f"Use {s} for the staging deploy (expires Friday).",
        ]
        ctx["url"] = [
            lambda s: f"https://api.example.com/v1/sync?t={s}&page=2",
            lambda s: f"see https://ci.example.com/run?id=42&creds={s}",
        ]
        ctx["log"] = [
            lambda s: f"2026-11-22T10:00:01Z WARN  retrying upload with {s} after 401",
            lambda s: f"[2026-11-22 10:00:02] ERROR worker-3: rejected {s} (scope)",
        ]
    else:
        ctx["prose"] = [
            lambda s: f"The {words} is {s}, rotate it after the demo.",
            lambda s: f"Here is my {words}: {s} (do not share)",
        ]
        ctx["url"] = [
            lambda s: f"https://api.example.com/v1/sync?{name}={s}&page=2",
            lambda s: f"GET /callback?state=ok&{name}={s} HTTP/1.1",
        ]
        ctx["log"] = [
            lambda s: f"2026-11-22T10:00:01Z INFO  connecting {name}={s} region=eu",
            lambda s: f"[2026-11-22 10:00:02] DEBUG {words}: {s}",
        ]
    return ctx


# --- vendor formats not (fully) in gitleaks -------------------------------------------------


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64(rng: random.Random, n: int) -> str:
    return _r(rng, B62 + "+/", n)


# (id, secret maker, contexts maker): documented formats and shapes of configuration files.
def _vendor(rng: random.Random) -> Iterator[tuple[str, str, Contexts]]:
    # AWS: the secret access key (40 base64 chars) and the session token have no prefix:
    # caught by the key name, the access key id beside them, or the vendor's name.
    # (AWS IAM user guide, "Managing access keys": wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY.)
    akid = "AKIA" + _r(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    sk = _b64(rng, 40)
    yield (
        "aws-secret-access-key",
        sk,
        {
            "assignment": [lambda s: f"aws_secret_access_key = {s}"],
            "json": [lambda s: json.dumps({"AccessKeyId": akid, "SecretAccessKey": s})],
            "yaml": [lambda s: f"  AWS_SECRET_ACCESS_KEY: {s}"],
            "prose": [lambda s: f"keys for the intern: {akid} / {s}"],
            "url": [lambda s: f"https://s3.example.com/up?AWSAccessKeyId={akid}&secret={s}"],
            "log": [lambda s: f"2026-11-22T10:00:01Z DEBUG boto: credentials {akid}:{s}"],
        },
    )
    st = "FwoGZXIvYXdzE" + _b64(rng, 300)
    yield (
        "aws-session-token",
        st,
        {
            "assignment": [lambda s: f"export AWS_SESSION_TOKEN={s}"],
            "json": [
                lambda s: json.dumps({"Credentials": {"SessionToken": s, "AccessKeyId": akid}})
            ],
            "yaml": [lambda s: f"aws_session_token: {s}"],
            "log": [lambda s: f"2026-11-22T10:00:01Z DEBUG sts: session token {s}"],
        },
    )
    # Twilio auth token: 32 hex characters, no prefix (Twilio docs, "Auth tokens").
    tw = _r(rng, HEX, 32)
    yield (
        "twilio-auth-token",
        tw,
        {
            "assignment": [lambda s: f'TWILIO_AUTH_TOKEN = "{s}"'],
            "json": [lambda s: json.dumps({"twilio": {"sid": "AC" + _r(rng, HEX, 32), "auth": s}})],
            "yaml": [lambda s: f"twilio_auth_token: {s}"],
            "prose": [lambda s: f"The Twilio auth token is {s} for now."],
            "log": [lambda s: f"2026-11-22T10:00:01Z INFO  twilio client auth_token={s}"],
        },
    )
    # Slack workflow webhook (Slack docs, "Workflow Builder webhooks"): four path segments.
    wf = (
        f"https://hooks.slack.com/workflows/T{_r(rng, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 8)}"
        f"/A{_r(rng, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 10)}/{_r(rng, string.digits, 18)}"
        f"/{_r(rng, B62, 24)}"
    )
    yield "slack-workflow-webhook", wf, _plain_contexts("slack_webhook_url")
    # GitLab routable tokens (GitLab docs, "Token prefixes"): payload, `.`, version, `.`, crc.
    gl = f"glpat-{_r(rng, B62 + '-_', 27)}.01.{_r(rng, string.ascii_lowercase + string.digits, 9)}"
    yield "gitlab-pat-routable-dotted", gl, _plain_contexts("gitlab_token")
    # Discord bot token (Discord developer docs): base64 user id, timestamp, HMAC.
    dc = (
        rng.choice("MNO")
        + _r(rng, B62, rng.choice([23, 25, 26]))
        + "."
        + _r(rng, B62 + "-_", 6)
        + "."
        + _r(rng, B62 + "-_", 38)
    )
    yield "discord-bot-token", dc, _plain_contexts("discord_bot_token")
    # Test PyPI upload token (PyPI docs, "API tokens"): macaroon for test.pypi.org.
    yield (
        "test-pypi-token",
        "pypi-AgENdGVzdC5weXBpLm9yZw" + _r(rng, B62 + "-_", 70),
        (_plain_contexts("twine_password")),
    )
    # Connection strings and configuration files.
    sas = _b64(rng, 43) + "="
    yield (
        "azure-service-bus-key",
        sas,
        _carrier(
            "Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName="
            "RootManageSharedAccessKey;SharedAccessKey={s}",
            "servicebus_connection",
        ),
    )
    npm = _r(rng, HEX, 8) + "-" + _r(rng, HEX, 4) + "-" + _r(rng, HEX, 4) + "-" + _r(rng, HEX, 12)
    yield (
        "npmrc-auth-token",
        npm,
        {
            "assignment": [lambda s: f"//registry.npmjs.org/:_authToken={s}"],
            "log": [lambda s: f"npm verb config //npm.acme.dev/:_authToken={s}"],
            "yaml": [lambda s: f'  npmrc: "//npm.pkg.github.com/:_authToken={s}"'],
        },
    )
    pw = _r(rng, B62, 10) + rng.choice("!#%&*") + _r(rng, string.digits, 2)
    yield (
        "xml-password",
        pw,
        {
            "assignment": [lambda s: f"    <password>{s}</password>"],
            "log": [
                lambda s: (
                    f"2026-11-22 10:00:01 DEBUG settings.xml: <server><password>{s}</password>"
                )
            ],
        },
    )
    yield (
        "env-db-pass",
        pw[::-1],
        {
            "assignment": [lambda s: f"DB_PASS={s}", lambda s: f"export MYSQL_PASS='{s}'"],
            "yaml": [lambda s: f"  DB_PASS: {s}"],
        },
    )
    word_pw = "".join(rng.choice(string.ascii_letters) for _ in range(12))
    yield (
        "ado-connection-password",
        word_pw,
        _carrier(
            "Server=db.acme.local;Database=main;User Id=app;Password={s};", "connection_string"
        ),
    )
    yield (
        "odbc-pwd",
        _r(rng, B62, 12),
        _carrier("Driver={{ODBC Driver 18}};Server=db;Uid=app;Pwd={s};", "odbc"),
    )
    cs = _r(rng, B62 + "~._-", 40)
    yield (
        "oauth-client-secret",
        cs,
        {
            "yaml": [lambda s: f"  client_secret: {s}"],
            "json": [lambda s: json.dumps({"client_id": "web-app", "client_secret": s})],
            "assignment": [lambda s: f'CLIENT_SECRET = "{s}"'],
        },
    )
    # The structured API's case: a password whose first character is `$ * % [ { <`.
    for i, lead in enumerate("$*%[{<"):
        p = lead + _r(rng, string.ascii_lowercase, 6) + "Passw0rd" + _r(rng, string.digits, 2)
        yield (
            f"password-leading-{i}",
            p,
            {
                "json": [lambda s: json.dumps({"password": s})],
                "assignment": [lambda s: f'password = "{s}"'],
                "yaml": [lambda s: f'db_password: "{s}"'],
            },
        )
    # Basic auth in URLs and authorization headers.
    up = _r(rng, B62, 14)
    yield (
        "url-credentials",
        up,
        {
            "url": [lambda s: f"postgres://app:{s}@db.internal:5432/main"],
            "log": [
                lambda s: f"2026-11-22 10:00:01 INFO redis at redis://default:{s}@cache:6379/0"
            ],
        },
    )
    bt = _r(rng, B62 + "-_", 40)
    yield (
        "bearer-header",
        bt,
        {
            "log": [lambda s: f"2026-11-22T10:00:01Z DEBUG > Authorization: Bearer {s}"],
            "assignment": [lambda s: f'headers = {{"Authorization": "Bearer {s}"}}'],
        },
    )


def _plain_contexts(name: str) -> Contexts:
    return _contexts(name, name.replace("_", " "), True)


def _carrier(template: str, name: str) -> Contexts:
    def put(f: Callable[[str], str]) -> Callable[[str], str]:
        return lambda s: f(template.format(s=s))

    return {
        "assignment": [put(lambda c: f'{name.upper()} = "{c}"')],
        "json": [put(lambda c: json.dumps({name: c}))],
        "yaml": [put(lambda c: f'  {name}: "{c}"')],
        "log": [put(lambda c: f"2026-11-22T10:00:01Z INFO  opening {c}")],
        "prose": [put(lambda c: f"Connect with {c} and you are in.")],
    }


# --- the corpus -----------------------------------------------------------------------------


def rules() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(RULES.read_text())["rules"]
    return data


def corpus(seed: int, per_rule: int = 2) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out: list[dict[str, str]] = []

    def emit(rule_id: str, secret: str, ctx: Contexts) -> None:
        for context, makers in ctx.items():
            text = rng.choice(makers)(secret)
            assert text.count(secret) == 1, (rule_id, text)
            out.append({"rule": rule_id, "context": context, "secret": secret, "text": text})

    for rule in rules():
        if rule["id"] in EXCLUDED or not rule["regex"]:
            continue
        name, words = _kind_words(rule["id"])
        for _ in range(per_rule):
            secret, prefixed = _secret_from_rule(rule, rng)
            ctx = _contexts(name, words, prefixed)
            if rule["id"] in SHAPES:
                shape = SHAPES[rule["id"]]
                ctx["assignment"] = [lambda s, shape=shape: shape.replace("{s}", s)]
            emit(rule["id"], secret, ctx)
    for _ in range(per_rule):
        for rule_id, secret, ctx in _vendor(rng):
            emit("vendor:" + rule_id, secret, ctx)
    return out


def dumps(seed: int) -> str:
    return "".join(json.dumps(e, sort_keys=True) + "\n" for e in corpus(seed))


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print(__doc__.strip().splitlines()[4].strip(), file=sys.stderr)
        return 2
    sys.stdout.write(dumps(int(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
