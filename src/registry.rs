//! The capability registry: every capability that keeps data in the store, one row each.
//!
//! The hub's namespace-wide operations follow from these rows: `health()` counts each
//! capability's rows, `clear()` deletes them, `export()` and `import_()` move its records
//! (`crate::transfer`, docs/export.md), the embedded store is opened with their schema steps
//! and wake topics. Adding a capability is one line here (see `docs/architecture.md`).

use crate::engine::{Capability, Schema, Topic};
use crate::error::{Error, Result};

/// Every capability that keeps data, in the order `health()` and exports list them.
pub const CAPABILITIES: &[Capability] = &[
    crate::tasks::CAPABILITY,
    crate::docs::CAPABILITY,
    crate::bus::CAPABILITY,
    crate::events::CAPABILITY,
    crate::jobs::CAPABILITY,
    crate::patterns::CAPABILITY,
    crate::changes::CAPABILITY,
    crate::kv::CAPABILITY,
    crate::memory::store::CAPABILITY,
    crate::cache::CAPABILITY,
    crate::analytics::CAPABILITY,
    crate::trending::CAPABILITY,
    crate::limits::CAPABILITY,
    crate::sessions::CAPABILITY,
    crate::flags::CAPABILITY,
    crate::streams::CHAT,
    crate::streams::ACTIVITY,
    crate::archive::CAPABILITY,
];

/// Schema steps of the hub itself (not of one capability), numbered with the capabilities'.
pub const HUB_MIGRATIONS: &[crate::engine::Migration] = &[crate::engine::Migration {
    version: 27,
    sql: crate::engine::partition::SCHEMA,
}];

/// Layout version of a namespace's keys on Redis, kept in the namespace's [`layout_key`] and
/// checked at open: a namespace written by a later layout is refused; an earlier one would be
/// upgraded there. 1: the layout of `docs/keys.md` as first released.
pub const REDIS_LAYOUT: i64 = 1;

/// The key holding a namespace's Redis layout version.
pub fn layout_key(ns: &str) -> String {
    format!("{}layout", crate::engine::keys::prefix(ns, "meta"))
}

/// The embedded store's schema: every capability's steps in version order and every wake
/// topic. Fails if the steps do not count 1, 2, ... N (two rows claiming one version, or a
/// gap): that is a programming error the registry test catches.
pub fn schema() -> Result<Schema> {
    let mut steps: Vec<_> = CAPABILITIES
        .iter()
        .flat_map(|c| c.migrations.iter())
        .chain(HUB_MIGRATIONS)
        .collect();
    steps.sort_by_key(|m| m.version);
    for (i, m) in steps.iter().enumerate() {
        if m.version != i as i64 + 1 {
            return Err(Error::Backend(format!(
                "the capability registry's schema steps are not numbered 1..{}: step {} is \
                 numbered {}",
                steps.len(),
                i + 1,
                m.version
            )));
        }
    }
    let topics: Vec<Topic> = CAPABILITIES.iter().filter_map(|c| c.topic).collect();
    Ok(Schema {
        migrations: steps.iter().map(|m| m.sql).collect(),
        topics,
        sweeps: CAPABILITIES.iter().filter_map(|c| c.sweep).collect(),
    })
}

/// The capabilities that write to the change feed, in registry order.
pub fn feeds() -> std::sync::Arc<[crate::changes::Feed]> {
    CAPABILITIES
        .iter()
        .filter(|c| c.changes)
        .map(|c| crate::changes::Feed {
            name: c.name,
            tag: c.tag,
        })
        .collect()
}

/// The row of capability `name`.
pub fn capability(name: &str) -> Option<&'static Capability> {
    CAPABILITIES.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn schema_steps_count_one_to_n_and_keep_their_order() {
        let s = schema().unwrap();
        // The on-disk numbering of databases written before the registry existed.
        assert_eq!(s.migrations.len(), 28);
        assert_eq!(s.migrations[0], crate::tasks::sqlite::SCHEMA);
        assert_eq!(s.migrations[4], crate::bus::sqlite::SCHEMA_CFG);
        assert_eq!(s.migrations[7], crate::docs::sqlite::SCHEMA_BASE);
    }

    #[test]
    fn names_tags_and_topics_are_unique() {
        let mut names: Vec<_> = CAPABILITIES.iter().map(|c| c.name).collect();
        let mut tags: Vec<_> = CAPABILITIES.iter().map(|c| c.tag).collect();
        let mut topics: Vec<_> = CAPABILITIES
            .iter()
            .filter_map(|c| c.topic)
            .map(|t| t.0)
            .collect();
        for v in [&mut names, &mut tags, &mut topics] {
            let n = v.len();
            v.sort();
            v.dedup();
            assert_eq!(v.len(), n, "duplicate in {v:?}");
        }
        assert!(!tags.contains(&"meta"), "the meta tag is the hub's own");
    }
}
