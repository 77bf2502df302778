//! The Rust side's `log` records forwarded to Python's `logging` with `pyo3-log`.
//!
//! Rust logs only events that matter (a lost or restored Redis connection, file sync
//! conflicts and errors), never per operation. A record is queued (bounded: when full, records
//! are dropped rather than slowing the store) and one thread of its own hands it to Python, so
//! no store or sync thread ever waits for the GIL: a thread joined by a caller holding the GIL
//! (closing a hub with a running sync) cannot deadlock on a log call, and the interpreter
//! shutting down only means the last records are dropped. Targets are module paths, so
//! `zerolag::engine::redis` logs to the Python logger `zerolag.engine.redis`.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::OnceLock;

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;

/// Records waiting for the forwarding thread, at most.
const QUEUE: usize = 1024;

struct Owned {
    level: Level,
    target: String,
    msg: String,
    module: Option<String>,
    file: Option<String>,
    line: Option<u32>,
}

struct Queued {
    tx: SyncSender<Owned>,
}

impl Log for Queued {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        // Our own records from INFO up; other crates' (rustls, ...) only when they warn.
        if m.target().starts_with("zerolag") {
            m.level() <= Level::Info
        } else {
            m.level() <= Level::Warn
        }
    }

    fn log(&self, r: &Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let _ = self.tx.try_send(Owned {
            level: r.level(),
            target: r.target().to_string(),
            msg: r.args().to_string(),
            module: r.module_path().map(str::to_string),
            file: r.file().map(str::to_string),
            line: r.line(),
        });
    }

    fn flush(&self) {}
}

static INSTALLED: OnceLock<()> = OnceLock::new();

/// Installs the forwarding once per process (at module import).
pub fn init(py: Python<'_>) -> PyResult<()> {
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    let sink = pyo3_log::Logger::new(py, pyo3_log::Caching::Loggers)?.filter(LevelFilter::Info);
    let (tx, rx) = sync_channel::<Owned>(QUEUE);
    std::thread::Builder::new()
        .name("zerolag-log".into())
        .spawn(move || {
            while let Ok(o) = rx.recv() {
                let _ = Python::try_attach(|_py| {
                    sink.log(
                        &Record::builder()
                            .level(o.level)
                            .target(&o.target)
                            .args(format_args!("{}", o.msg))
                            .module_path(o.module.as_deref())
                            .file(o.file.as_deref())
                            .line(o.line)
                            .build(),
                    );
                });
            }
        })
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("log thread: {e}")))?;
    if log::set_boxed_logger(Box::new(Queued { tx })).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
    let _ = INSTALLED.set(());
    Ok(())
}
