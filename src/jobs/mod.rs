//! `hub.jobs` (issue 3). Behaviour defined once here; `sqlite` and `redis` implement it.

pub mod sqlite;

use std::sync::Arc;

use crate::engine::Backend;

/// The jobs of one namespace.
#[derive(Clone)]
pub struct Jobs {
    #[allow(dead_code)]
    backend: Backend,
    ns: Arc<str>,
}

impl Jobs {
    /// The jobs of `ns` on `backend`.
    pub fn new(backend: Backend, ns: Arc<str>) -> Jobs {
        Jobs { backend, ns }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }
}
