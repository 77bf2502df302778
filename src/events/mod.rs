//! `hub.events` (issue 3). Behaviour defined once here; `sqlite` and `redis` implement it.

pub mod sqlite;

use std::sync::Arc;

use crate::engine::Backend;

/// The events of one namespace.
#[derive(Clone)]
pub struct Events {
    #[allow(dead_code)]
    backend: Backend,
    ns: Arc<str>,
}

impl Events {
    /// The events of `ns` on `backend`.
    pub fn new(backend: Backend, ns: Arc<str>) -> Events {
        Events { backend, ns }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }
}
