//! Moving a namespace (docs/export.md): `hub.export(path)` writes everything a namespace holds
//! to one versioned file, capability by capability through the registry
//! ([`crate::registry::CAPABILITIES`], each row's `export` read page by page);
//! `hub.import_(path)` writes such a file into an empty namespace of any backend (each row's
//! `import`, in batches).
//!
//! An import refuses a non-empty namespace (ConflictError) and a file without its footer
//! (ValidationError) before writing anything. If it fails later (a bad record, a count that
//! does not match the footer, a store that went away), it clears the namespace again, so
//! nothing half-written remains, and the error names the line.
//!
//! An export is not a snapshot: each page is read consistently, but writes made to the
//! namespace during the export may or may not be in the file. Stop the writers for an exact
//! copy.

pub mod file;
pub mod record;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};

use self::file::{Footer, Header, Lines, FORMAT, MAX_LINE, VERSION};
use crate::engine::{Capability, Importer, Op};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::registry::{self, CAPABILITIES};

/// What an export or import did.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The file.
    pub path: PathBuf,
    /// The namespace exported or imported into.
    pub namespace: String,
    /// The backend of that namespace.
    pub backend: String,
    /// The namespace the file was exported from.
    pub source_namespace: String,
    /// The backend the file was exported from.
    pub source_backend: String,
    /// When the file was written (Unix seconds).
    pub created: f64,
    /// Records per capability, in file order.
    pub records: Vec<(String, u64)>,
    /// Size of the file.
    pub bytes: u64,
    /// Time taken.
    pub seconds: f64,
}

impl Summary {
    /// All records.
    pub fn total(&self) -> u64 {
        self.records.iter().map(|(_, n)| n).sum()
    }
}

/// `f` on a blocking thread, as an operation: the store operations it runs block on their
/// own (`Op::wait`), and file IO stays off the async workers.
fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Op<T> {
    Op::Async(Box::pin(async move {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Error::Backend(format!("the transfer task failed: {e}")))?
    }))
}

/// Writes namespace `hub`'s data to `path` (replaced only once the whole file is written).
pub fn export(hub: Arc<Hub>, path: PathBuf) -> Op<Summary> {
    blocking(move || export_to(&hub, &path))
}

/// Writes the export at `path` into `hub`'s namespace, which must be empty.
pub fn import(hub: Arc<Hub>, path: PathBuf) -> Op<Summary> {
    blocking(move || import_from(&hub, &path))
}

pub use crate::error::context;

fn temp_beside(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::validation(format!("{} is not a file path", path.display())))?;
    Ok(path.with_file_name(format!(
        ".{}.{:08x}.tmp",
        name.to_string_lossy(),
        rand::random::<u32>()
    )))
}

/// [`export`], blocking the calling thread (not a runtime worker).
pub fn export_to(hub: &Hub, path: &Path) -> Result<Summary> {
    hub.check()?;
    let started = Instant::now();
    let tmp = temp_beside(path)?;
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        zerolag: env!("CARGO_PKG_VERSION").into(),
        namespace: hub.namespace().into(),
        backend: hub.backend().name().into(),
        created: crate::clock::now(),
        capabilities: CAPABILITIES.iter().map(|c| c.name.to_string()).collect(),
    };
    let written = write_file(hub, &tmp, &header);
    let (records, bytes) = match written.and_then(|w| {
        std::fs::rename(&tmp, path)?;
        Ok(w)
    }) {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    Ok(Summary {
        path: path.to_path_buf(),
        namespace: header.namespace.clone(),
        backend: header.backend.clone(),
        source_namespace: header.namespace,
        source_backend: header.backend,
        created: header.created,
        records,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn write_file(hub: &Hub, tmp: &Path, header: &Header) -> Result<(Vec<(String, u64)>, u64)> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(tmp)?);
    let mut bytes = file::line(&mut out, header)?;
    let mut counts = Vec::with_capacity(CAPABILITIES.len());
    for cap in CAPABILITIES {
        let mut n = 0u64;
        let mut cursor = Value::Null;
        loop {
            let page = (cap.export)(hub.backend(), hub.namespace(), cursor)
                .wait()
                .map_err(|e| context(e, format!("exporting {}", cap.name)))?;
            for rec in &page.records {
                bytes += file::record_line(&mut out, cap.name, rec)?;
                n += 1;
            }
            match page.next {
                Some(c) => cursor = c,
                None => break,
            }
        }
        counts.push((cap.name.to_string(), n));
    }
    let footer = Footer {
        end: FORMAT.into(),
        records: counts
            .iter()
            .map(|(k, n)| (k.clone(), Value::from(*n)))
            .collect::<Map<_, _>>(),
        total: counts.iter().map(|(_, n)| n).sum(),
    };
    bytes += file::line(&mut out, &footer)?;
    out.flush()?;
    let f = out.into_inner().map_err(|e| Error::Io(e.into_error()))?;
    f.sync_all()?;
    Ok((counts, bytes))
}

/// [`import`], blocking the calling thread (not a runtime worker).
pub fn import_from(hub: &Hub, path: &Path) -> Result<Summary> {
    hub.check()?;
    let started = Instant::now();
    let f = File::open(path)?;
    let bytes = f.metadata()?.len();
    let mut lines = Lines::new(BufReader::with_capacity(1 << 20, f), MAX_LINE);
    let header = match lines.next_line()? {
        Some(l) => file::header(l)?,
        None => return Err(Error::validation("the file is empty: not a zerolag export")),
    };
    let footer = file::tail_footer(path)?;
    for name in header.capabilities.iter().chain(footer.records.keys()) {
        if registry::capability(name).is_none() {
            return Err(Error::validation(format!(
                "the file holds records of capability {name:?}, which this zerolag ({}) does \
                 not know; import it with the release that wrote it ({}) or a later one",
                env!("CARGO_PKG_VERSION"),
                header.zerolag
            )));
        }
    }
    let keys = hub.health().wait()?.keys;
    if keys > 0 {
        return Err(Error::Conflict(format!(
            "namespace {:?} is not empty ({keys} keys or rows): an import only goes into an \
             empty namespace; clear it first (hub.clear()) or pick another",
            hub.namespace()
        )));
    }
    let records = match write_records(hub, &mut lines, &header) {
        Ok(r) => r,
        Err(e) => {
            return Err(match hub.clear().wait() {
                Ok(_) => context(
                    e,
                    format!("import of {} failed and was undone", path.display()),
                ),
                Err(c) => context(
                    e,
                    format!(
                        "import of {} failed, and clearing the partly imported namespace \
                         failed too ({c}): run hub.clear() on it",
                        path.display()
                    ),
                ),
            })
        }
    };
    let records = header
        .capabilities
        .iter()
        .map(|c| {
            let n = records.iter().find(|(d, _)| d == c).map_or(0, |(_, n)| *n);
            (c.clone(), n)
        })
        .collect();
    Ok(Summary {
        path: path.to_path_buf(),
        namespace: hub.namespace().into(),
        backend: hub.backend().name().into(),
        source_namespace: header.namespace,
        source_backend: header.backend,
        created: header.created,
        records,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The capability whose records are being written.
struct Section {
    cap: &'static Capability,
    importer: Box<dyn Importer>,
    n: u64,
}

fn run(op: Option<Op<()>>, line: u64) -> Result<()> {
    match op {
        Some(op) => op
            .wait()
            .map_err(|e| context(e, format!("writing the records up to line {line}"))),
        None => Ok(()),
    }
}

fn write_records<R: std::io::BufRead>(
    hub: &Hub,
    lines: &mut Lines<R>,
    header: &Header,
) -> Result<Vec<(String, u64)>> {
    let mut done: Vec<(String, u64)> = Vec::new();
    let mut cur: Option<Section> = None;
    let close = |s: Option<Section>, done: &mut Vec<(String, u64)>, at: u64| -> Result<()> {
        if let Some(mut s) = s {
            let op = s
                .importer
                .finish()
                .map_err(|e| context(e, format!("line {at}")))?;
            run(op, at)?;
            done.push((s.cap.name.to_string(), s.n));
        }
        Ok(())
    };
    loop {
        let before = lines.number();
        let v: Value = match lines.next_line()? {
            Some(raw) => serde_json::from_slice(raw),
            None => {
                return Err(Error::validation(format!(
                    "the file ends at line {before} without its footer: it was cut short"
                )))
            }
        }
        .map_err(|e| Error::validation(format!("line {} is not JSON: {e}", lines.number())))?;
        let at = lines.number();
        let Value::Object(mut rec) = v else {
            return Err(Error::validation(format!("line {at} is not a JSON object")));
        };
        if rec.contains_key("end") && !rec.contains_key("c") {
            close(cur.take(), &mut done, at)?;
            let footer =
                file::footer(Value::Object(rec)).map_err(|e| context(e, format!("line {at}")))?;
            if lines.next_line()?.is_some() {
                return Err(Error::validation(format!(
                    "line {}: more lines follow the footer (line {at})",
                    lines.number()
                )));
            }
            check_counts(&footer, &done)?;
            return Ok(done);
        }
        let name = match rec.remove("c") {
            Some(Value::String(s)) => s,
            _ => {
                return Err(Error::validation(format!(
                    "line {at} is neither a record (with \"c\": its capability) nor the footer"
                )))
            }
        };
        if cur.as_ref().is_none_or(|s| s.cap.name != name) {
            close(cur.take(), &mut done, at)?;
            let cap = registry::capability(&name)
                .filter(|_| header.capabilities.contains(&name))
                .ok_or_else(|| {
                    Error::validation(format!(
                        "line {at}: capability {name:?} is not one the header lists"
                    ))
                })?;
            if done.iter().any(|(n, _)| *n == name) {
                return Err(Error::validation(format!(
                    "line {at}: the records of {name:?} are not all together"
                )));
            }
            cur = Some(Section {
                cap,
                importer: (cap.import)(hub.backend(), hub.namespace()),
                n: 0,
            });
        }
        if let Some(s) = cur.as_mut() {
            s.n += 1;
            let op = s
                .importer
                .add(rec)
                .map_err(|e| context(e, format!("line {at} ({name})")))?;
            run(op, at)?;
        }
    }
}

fn check_counts(footer: &Footer, done: &[(String, u64)]) -> Result<()> {
    let want = footer.counts()?;
    for (name, n) in &want {
        let got = done.iter().find(|(d, _)| d == name).map_or(0, |(_, g)| *g);
        if got != *n {
            return Err(Error::validation(format!(
                "the footer counts {n} records of {name:?} but the file holds {got}: it is \
                 damaged"
            )));
        }
    }
    for (name, n) in done {
        if *n > 0 && !want.iter().any(|(w, _)| w == name) {
            return Err(Error::validation(format!(
                "the file holds {n} records of {name:?} that its footer does not count"
            )));
        }
    }
    let total: u64 = done.iter().map(|(_, n)| n).sum();
    if total != footer.total {
        return Err(Error::validation(format!(
            "the footer counts {} records in all but the file holds {total}",
            footer.total
        )));
    }
    Ok(())
}
