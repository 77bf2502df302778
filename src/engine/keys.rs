//! Redis key names: the one place that decides how a namespace's keys are spelled and hash
//! tagged. Every key of capability `tag` in namespace `ns` starts with [`prefix`]; the hash tag
//! `{<ns>:<tag>}` keeps the keys that one script touches in one cluster slot. Spreading a
//! capability over several slots (partitioned namespaces) is a change here.

/// `zl:{<ns>:<tag>}:` — every key of capability `tag` in namespace `ns` starts with it.
pub fn prefix(ns: &str, tag: &str) -> String {
    format!("zl:{{{ns}:{tag}}}:")
}

/// SCAN pattern of every key of a namespace. Safe because namespaces are validated to
/// `[A-Za-z0-9_.-]`, which holds no glob character and no `:`.
pub fn namespace_pattern(ns: &str) -> String {
    format!("zl:{{{ns}:*")
}
