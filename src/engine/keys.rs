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

/// The key that no script ever writes, declared by every script call after the keys it names
/// (see [`super::script::Lua::call_keys`]): `zl:{<ns>:<tag>}:~absent`, in the slot of `key`.
///
/// Why: a Redis Cluster node runs a script only if it holds every key the script declares or
/// none of them is on a slot being moved. While the slot is half moved (`CLUSTER SETSLOT …
/// MIGRATING/IMPORTING`), a declared key that exists nowhere makes the source answer TRYAGAIN
/// (or ASK, and then the target TRYAGAIN), so no script runs on either half: it waits until the
/// slot has moved whole, and the keys a script touches without naming them can never be
/// created on the wrong side. Outside a migration the node does not look keys up at all.
pub fn absent_key(key: &str) -> String {
    match hash_tag(key) {
        Some(tag) => format!("zl:{{{tag}}}:~absent"),
        // No hash tag: the whole key decides the slot, and `{key}` hashes the same way (every
        // key zerolag builds has a tag; this is for a key with no braces).
        None => format!("{{{key}}}:~absent"),
    }
}

/// The hash tag of `key` as Redis Cluster reads it: between the first `{` and the next `}`,
/// when not empty.
fn hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let close = key[open + 1..].find('}')?;
    (close > 0).then(|| &key[open + 1..open + 1 + close])
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::cluster_routing::Slot;

    #[test]
    fn absent_key_shares_the_slot() {
        for key in [
            "zl:{ns:tasks}:z:upd",
            "zl:{a.b-c_9:docs}:doc:x/{y}.yaml",
            "plain",
            "zl:{open",
        ] {
            let a = absent_key(key);
            assert_eq!(Slot::for_key(&a), Slot::for_key(key), "{key} -> {a}");
            assert_ne!(a, key);
        }
        assert_eq!(absent_key("zl:{ns:kv}:idx"), "zl:{ns:kv}:~absent");
    }
}
