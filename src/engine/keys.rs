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

/// The smallest text greater than every text that starts with `prefix` (None when there is
/// none: an empty prefix, or one made only of `char::MAX`). Comparing UTF-8 by bytes orders
/// text by code point, so `key >= prefix AND key < prefix_end(prefix)` is the prefix's range,
/// which an index serves without reading past it.
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last as u32 + 1 {
            0xD800 => Some('\u{E000}'), // the surrogates are not characters
            n => char::from_u32(n),
        };
        if let Some(c) = next {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test here
mod prefix_end_tests {
    use super::prefix_end;

    #[test]
    fn bounds_the_prefix_range() {
        assert_eq!(prefix_end("ab"), Some("ac".to_string()));
        assert_eq!(prefix_end("a/"), Some("a0".to_string()));
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("\u{D7FF}"), Some("\u{E000}".to_string()));
        assert_eq!(prefix_end("x\u{10FFFF}"), Some("y".to_string()));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        for p in ["ab", "é", "a\u{10FFFF}b", "z/"] {
            let end = prefix_end(p).unwrap();
            for k in [
                p.to_string(),
                format!("{p}\u{10FFFF}\u{10FFFF}"),
                format!("{p}zz"),
            ] {
                assert!(k.as_bytes() < end.as_bytes(), "{k:?} < {end:?}");
            }
            assert!(end.as_bytes() > p.as_bytes());
        }
    }
}
