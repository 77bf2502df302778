//! What a write will do, decided in Rust from what the store holds (both engines run this):
//! each new version's number, the versions it cuts (their `superseded_at`), its postings, and
//! the fit of each embedding to its declared space. SQLite plans inside its transaction; Redis
//! plans from a read and guards the write script with what it read (compare-and-set), planning
//! again when another writer got in between.

use std::collections::HashMap;

use super::graph::{self, Edge};
use super::record::{Terms, Write};
use super::timeline::{self, Version};
use crate::error::{Error, Result};
use crate::memory::vector::Metric;

/// A declared vector space.
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    pub name: String,
    pub dim: usize,
    pub metric: Metric,
}

impl Space {
    /// Its definition as stored: `<dim> <metric>`.
    pub fn def(&self) -> String {
        format!("{} {}", self.dim, self.metric.name())
    }

    /// From a stored definition.
    pub fn parse(name: &str, def: &str) -> Result<Space> {
        let bad = || Error::Backend(format!("bad stored vector space {name:?}: {def:?}"));
        let (d, m) = def.split_once(' ').ok_or_else(bad)?;
        Ok(Space {
            name: name.to_string(),
            dim: d.parse().map_err(|_| bad())?,
            metric: Metric::parse(m).map_err(|_| bad())?,
        })
    }

    /// Checks an embedding for this space: its dimension, finite values, and not all zeros
    /// under cosine.
    pub fn check(&self, v: &[f32]) -> Result<()> {
        if v.len() != self.dim {
            return Err(Error::validation(format!(
                "the embedding has dimension {}, space {:?} has {}",
                v.len(),
                self.name,
                self.dim
            )));
        }
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::validation(format!(
                "the embedding has a non-finite value ({}) at index {i}",
                v[i]
            )));
        }
        if self.metric == Metric::Cosine && v.iter().all(|&x| x == 0.0) {
            return Err(Error::validation(
                "the embedding is all zeros: cosine is undefined for it",
            ));
        }
        Ok(())
    }
}

/// An embedding as stored: little-endian f32 bytes.
pub fn vector_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Stored bytes back as floats.
pub fn vector_of(b: &[u8]) -> Result<Vec<f32>> {
    if !b.len().is_multiple_of(4) {
        return Err(Error::Backend("a stored vector is not whole f32s".into()));
    }
    Ok(b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// The space `name` from `spaces`, or the error for an undeclared one.
pub fn space<'a>(spaces: &'a HashMap<String, Space>, name: &str) -> Result<&'a Space> {
    spaces.get(name).ok_or_else(|| {
        Error::validation(format!(
            "no vector space {name:?}: declare it first with memory.space({name:?}, dim)"
        ))
    })
}

/// A version a write cuts: an existing row, or an earlier write of the same batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    Row(u64),
    Batch(usize),
}

/// One write as planned.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Its version number.
    pub version: u64,
    /// What it supersedes.
    pub cuts: Vec<Cut>,
    /// Its postings (empty for a tombstone).
    pub terms: Terms,
}

/// Batch versions carry this plus their index as `row` while planning.
const BATCH: u64 = 1 << 63;

/// Plans `writes` (valid_from resolved) against `lines`, the stored versions of every
/// (scope, key) they touch (oldest first), and `spaces`.
pub fn writes(
    lines: &mut HashMap<(String, String), Vec<Version>>,
    spaces: &HashMap<String, Space>,
    writes: &[Write],
) -> Result<Vec<Planned>> {
    let mut out = Vec::with_capacity(writes.len());
    for (i, w) in writes.iter().enumerate() {
        if let Some((name, v)) = &w.embedding {
            space(spaces, name)?.check(v)?;
        }
        let vf = w.valid_from.unwrap_or(0);
        let line = lines.entry((w.scope.clone(), w.key.clone())).or_default();
        let version = line.iter().map(|v| v.version).max().unwrap_or(0) + 1;
        let cut_at = timeline::cuts(line, vf);
        let mut cuts = Vec::with_capacity(cut_at.len());
        for j in cut_at {
            let r = line[j].row;
            cuts.push(if r >= BATCH {
                Cut::Batch((r - BATCH) as usize)
            } else {
                Cut::Row(r)
            });
            // Set, so a later write of the batch does not cut it again.
            line[j].superseded_at = Some(i64::MAX);
        }
        line.push(Version {
            version,
            row: BATCH + i as u64,
            valid_from: vf,
            valid_to: w.valid_to,
            recorded_at: i64::MAX,
            superseded_at: None,
            deleted: w.value.is_none(),
        });
        let terms = w
            .value
            .as_ref()
            .map(|v| Terms::of(&v.text()))
            .unwrap_or_default();
        out.push(Planned {
            version,
            cuts,
            terms,
        });
    }
    Ok(out)
}

/// A new edge.
#[derive(Debug, Clone)]
pub struct EdgeWrite {
    pub scope: String,
    pub src: String,
    pub relation: String,
    pub dst: String,
    /// Resolved (now when not given).
    pub valid_from: i64,
    pub valid_to: Option<i64>,
    pub confidence: f64,
    pub exclusive: bool,
    pub embedding: Option<(String, Vec<f32>)>,
    /// JSON text.
    pub metadata: Option<String>,
}

/// What relating does: the edges to invalidate at the new edge's `valid_from`, and the new
/// edge's `valid_to`. `same` holds the stored edges of the same scope and source (any
/// relation).
pub fn relate(
    e: &EdgeWrite,
    same: &[Edge],
    spaces: &HashMap<String, Space>,
) -> Result<(Vec<u64>, Option<i64>)> {
    if let Some((name, v)) = &e.embedding {
        space(spaces, name)?.check(v)?;
    }
    if !e.exclusive {
        return Ok((Vec::new(), e.valid_to));
    }
    let others: Vec<Edge> = same
        .iter()
        .filter(|x| x.relation == e.relation && x.scope == e.scope && x.src == e.src)
        .cloned()
        .collect();
    Ok(graph::exclusive(&others, e.valid_from, e.valid_to))
}
