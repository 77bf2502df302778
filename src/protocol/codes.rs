//! The `er:` error codes and the recovery hint that goes with each.

/// Every `er:` code with its recovery hint. Backends may send other codes; these are the ones
/// zerolag itself emits and documents (`docs/protocol.md`).
pub static ERROR_CODES: [(&str, &str); 12] = [
    ("E_TIMEOUT", "retry with a longer timeout or split the task"),
    (
        "E_NOT_FOUND",
        "check the id, or create the task or context first",
    ),
    (
        "E_INVALID",
        "fix the fields named in the message and send again",
    ),
    (
        "E_PARSE",
        "re-send the command following the grammar in docs/protocol.md",
    ),
    ("E_UNKNOWN_COMMAND", "use one of tc, ts, wf, cl, ms"),
    (
        "E_UNAUTHORIZED",
        "check credentials and permissions for this operation",
    ),
    ("E_RATE_LIMIT", "wait and retry with backoff"),
    ("E_BACKEND_DOWN", "retry later; the work stays queued"),
    (
        "E_HANDLER",
        "the handler raised; see the message, fix the input or the handler",
    ),
    (
        "E_CONFLICT",
        "reload the current state and apply the change again",
    ),
    ("E_CANCELLED", "start the task again if it is still needed"),
    ("E_INTERNAL", "report a bug; retrying may help"),
];

/// The recovery hint for `code`, if it is one of [`ERROR_CODES`].
pub fn recovery_hint(code: &str) -> Option<&'static str> {
    ERROR_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, h)| *h)
}
