//! `hub.bus` (issue 3). Behaviour defined once here; `sqlite` and `redis` implement it.

pub mod sqlite;

use std::sync::Arc;

use crate::engine::Backend;

/// The bus of one namespace.
#[derive(Clone)]
pub struct Bus {
    #[allow(dead_code)]
    backend: Backend,
    ns: Arc<str>,
}

impl Bus {
    /// The bus of `ns` on `backend`.
    pub fn new(backend: Backend, ns: Arc<str>) -> Bus {
        Bus { backend, ns }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }
}
