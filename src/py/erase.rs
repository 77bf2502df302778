//! `hub.erase(subject)`: the Python-visible part of [`crate::erase`].

use std::collections::BTreeMap;
use std::sync::Arc;

use pyo3::prelude::*;

use crate::engine::Op;
use crate::erase::Report;
use crate::hub::Hub;

/// The erase of `subject` on `hub`, as an operation.
pub(crate) fn op(hub: &Arc<Hub>, subject: &str) -> Op<Report> {
    crate::erase::erase(hub.clone(), subject)
}

/// The report as Python sees it: a dict of capability to count (zeros included).
pub(crate) fn report(r: Report) -> PyResult<BTreeMap<&'static str, u64>> {
    Ok(r.into_iter().collect())
}
