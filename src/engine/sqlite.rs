//! Embedded SQLite: one database file (`<root>/.zerolag/zerolag.db` unless the URL names
//! another), WAL, shared by every process
//! on the machine that opens the same root.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{Error, Result};

/// One step of a database's schema. Steps are applied in `version` order, and a database's
/// `user_version` is the version of the last step it ran: the numbering is on disk, so a
/// step, once released, keeps its number and text forever (new steps append).
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The `user_version` a database has once this step ran (1, 2, ...).
    pub version: i64,
    /// The SQL of the step (one or more statements).
    pub sql: &'static str,
}

/// Deletes expired rows of every namespace, at most a batch, at `now` (ms since the epoch);
/// returns how many (a capability's background sweep, run by the engine's own thread).
pub type SweepRows = fn(&rusqlite::Transaction<'_>, u64) -> Result<u64>;

/// What a database file is opened with: every step of its schema, in order, and the wake
/// topics its writers name (see [`Topic`]). Built by the capability registry; the engine
/// knows no capability.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// The SQL of steps 1, 2, ... (index i brings a database to `user_version` i + 1).
    pub migrations: Vec<&'static str>,
    /// The topics waiters can watch.
    pub topics: Vec<Topic>,
    /// The capabilities' sweeps of expired rows, run in the background every second.
    pub sweeps: Vec<SweepRows>,
}

/// What a write transaction changed, so that it wakes only the waiters reading that: a job
/// enqueued does not wake every event subscriber of the process (each would read again).
/// A capability names its own topic (in its registry row); a topic the database was not
/// opened with counts as "anything changed" and wakes every waiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topic(pub &'static str);

/// A small pool of connections to one database file.
pub struct Sqlite {
    /// The database file, or for an in-memory store its SQLite URI (`file:/…?vfs=memdb`).
    path: PathBuf,
    /// An in-memory store (`memory://`): no file, no WAL; it lives while a connection to it
    /// is open in this process.
    memory: bool,
    pool: Mutex<Vec<Connection>>,
    /// Writers of this process take turns here before `BEGIN IMMEDIATE`: SQLite's own busy
    /// handler sleeps in growing steps, which left some of 100 concurrent callers waiting a
    /// second; a fair in-process queue leaves the busy handler to other processes only.
    writer: Arc<Mutex<()>>,
    /// The topics of the schema; a topic's slot is its index here.
    topics: Vec<Topic>,
    /// Commits made through this handle, per topic slot (the last slot: transactions that
    /// name none); waiters in this process wake on their topic's count at once.
    commits: Mutex<Vec<u64>>,
    /// One per slot: a commit notifies its topic's waiters only (an unnamed one, all).
    committed: Vec<Condvar>,
    /// Tells the background checkpointer to stop (set when the handle is dropped).
    closing: Arc<AtomicBool>,
    /// Write transactions committed through this handle (what the checkpointer goes by).
    written: Arc<AtomicU64>,
    /// How long a write waits for the write lock (another process's, or this process's
    /// other writers') before it fails with `Error::Timeout`.
    busy_timeout: Duration,
    /// The process it was opened in (see [`super::fork`]).
    born: super::fork::Born,
}

/// How often the background thread runs the capabilities' sweeps of expired rows.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// How often the background checkpointer looks at the WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Commits of this process after which the checkpointer moves the WAL into the database
/// file. Not sooner: once the WAL is all copied back, the next commit starts it over and
/// fsyncs its header (synchronous=NORMAL does that), so checkpointing an idle store every
/// tick put an fsync into the first write after every pause (0.4 ms here, a few ms on real
/// disks), i.e. into every `send` of a chat. About SQLite's own 1,000-page default.
const CHECKPOINT_AFTER: u64 = 256;

/// A WAL still holding more frames than this after a passive checkpoint is checkpointed again
/// with `RESTART`, holding this process's write lock and waiting (up to [`WAL_RESET_WAIT`])
/// for other processes' writers and readers, which starts the WAL over. Needed because SQLite
/// starts a WAL over only when a write begins after a checkpoint that copied every frame, and
/// under a steady stream of writes a checkpoint run beside them never finds that moment: the
/// WAL grew without bound (1.7 GB after 5 s of 2 KB `kv.set`s) and every page lookup in it
/// grew slower. 4,096 frames: 16 MB of 4 KB pages.
const WAL_RESET_FRAMES: i64 = 4096;

/// How long the `RESTART` checkpoint waits for writers and readers before it gives up until
/// the next tick (writers wait for it meanwhile: a few milliseconds under a heavy write load).
const WAL_RESET_WAIT: Duration = Duration::from_millis(200);

/// How often a waiter checks for commits made by other processes.
const CROSS_PROCESS_POLL: Duration = Duration::from_millis(1);

/// A reader's view of "has anything been committed since": taken before a read that may come
/// back empty, then [`Watch::wait`] returns at the next commit by anyone (this process at
/// once, another process within about a millisecond, seen through `PRAGMA data_version`).
pub struct Watch<'a> {
    db: &'a Sqlite,
    slot: usize,
    conn: Option<Connection>,
    data_version: i64,
    commits: u64,
}

impl Watch<'_> {
    fn data_version(conn: &Connection) -> Result<i64> {
        let mut st = conn.prepare_cached("PRAGMA data_version")?;
        Ok(st.query_row([], |r| r.get(0))?)
    }

    /// Blocks until a commit after the watch was taken, or `timeout`. True when something was
    /// committed (the caller reads again either way).
    pub fn wait(&mut self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        let Some(conn) = self.conn.as_ref() else {
            return Ok(false);
        };
        loop {
            {
                let mut n = self.db.commits.lock();
                if seen(&n, self.slot) != self.commits {
                    return Ok(true);
                }
                let now = Instant::now();
                if now >= deadline {
                    return Ok(false);
                }
                let slice = (deadline - now).min(CROSS_PROCESS_POLL);
                self.db.committed[self.slot].wait_for(&mut n, slice);
                if seen(&n, self.slot) != self.commits {
                    return Ok(true);
                }
            }
            if Self::data_version(conn)? != self.data_version {
                return Ok(true);
            }
        }
    }
}

/// The commits a waiter on `slot` has to notice: its topic's and the unnamed ones (the last
/// slot).
fn seen(n: &[u64], slot: usize) -> u64 {
    let unnamed = n.len() - 1;
    if slot == unnamed {
        n[unnamed]
    } else {
        n[slot].wrapping_add(n[unnamed])
    }
}

impl Drop for Sqlite {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::Relaxed);
        if self.born.forked() {
            // Opened by the parent: closing the connections here could checkpoint or
            // delete the parent's WAL under it (SQLite: never use a database across fork).
            std::mem::forget(std::mem::take(self.pool.get_mut()));
        }
    }
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            self.db.give_back(c);
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Error::Timeout(format!(
                    "the embedded store stayed locked by another process ({e}); a process that \
                     holds the write lock may be stopped or stuck (raise sqlite://?timeout= if \
                     writes are just slow)"
                )),
                ErrorCode::ConstraintViolation => Error::Conflict(e.to_string()),
                ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly => {
                    Error::Io(std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        e.to_string(),
                    ))
                }
                ErrorCode::DiskFull => Error::Io(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    e.to_string(),
                )),
                _ => Error::Backend(format!("embedded store: {e}")),
            },
            _ => Error::Backend(format!("embedded store: {e}")),
        }
    }
}

impl Sqlite {
    /// Opens (creating if needed) `<root>/.zerolag/zerolag.db` and brings its schema up to
    /// date (in one transaction: a failed step leaves the database as it was). A database
    /// whose schema is newer than `schema` (written by a later release) is refused, not read.
    pub fn open(root: &Path, schema: &Schema) -> Result<Sqlite> {
        let db = super::config::default_db(root);
        Sqlite::open_file(&db, schema, super::config::DEFAULT_BUSY_TIMEOUT)
    }

    /// [`Sqlite::open`] on the database file `path` (its directory is created if needed),
    /// with the time a write waits for the write lock.
    pub fn open_file(path: &Path, schema: &Schema, busy_timeout: Duration) -> Result<Sqlite> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        Sqlite::open_at(path.to_path_buf(), false, schema, busy_timeout)
    }

    /// An in-memory store named `name` (SQLite's `memdb` VFS): every handle of this process
    /// opened with the same name shares it; nothing touches a file.
    ///
    /// A named store lives until the process exits (a connection kept for it holds it); an
    /// anonymous one (a name starting with `~`, which no URL can give) goes with its handle.
    pub fn open_memory(name: &str, schema: &Schema, busy_timeout: Duration) -> Result<Sqlite> {
        static KEPT: Mutex<Vec<(String, Connection)>> = Mutex::new(Vec::new());
        let uri = format!("file:/zerolag-memory/{name}?vfs=memdb");
        let db = Sqlite::open_at(PathBuf::from(&uri), true, schema, busy_timeout)?;
        if !name.starts_with('~') {
            let mut kept = KEPT.lock();
            if !kept.iter().any(|(n, _)| n == name) {
                kept.push((name.to_string(), db.connect()?));
            }
        }
        Ok(db)
    }

    fn open_at(
        path: PathBuf,
        memory: bool,
        schema: &Schema,
        busy_timeout: Duration,
    ) -> Result<Sqlite> {
        let slots = schema.topics.len() + 1;
        let db = Sqlite {
            path,
            memory,
            pool: Mutex::new(Vec::new()),
            writer: Arc::new(Mutex::new(())),
            topics: schema.topics.clone(),
            commits: Mutex::new(vec![0; slots]),
            committed: (0..slots).map(|_| Condvar::new()).collect(),
            closing: Arc::new(AtomicBool::new(false)),
            written: Arc::new(AtomicU64::new(0)),
            busy_timeout,
            born: super::fork::Born::now(),
        };
        let known = schema.migrations.len() as i64;
        let newer = |version: i64| {
            Error::Backend(format!(
                "{} has schema version {version}, newer than this zerolag knows ({known}): it \
                 was written by a later release; upgrade zerolag to open it",
                db.path.display()
            ))
        };
        // Look before opening for writing, which would switch the file to WAL.
        let mut current = false;
        if !memory && db.path.exists() {
            let ro = Connection::open_with_flags(
                &db.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            let version: i64 = ro.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version > known {
                return Err(newer(version));
            }
            // Up to date: no write transaction, so a hub opens while another process holds
            // the write lock (even one stopped while holding it).
            current = version == known;
        }
        if !current {
            db.migrate(schema, known, &newer)?;
        }
        db.start_checkpointer(schema.sweeps.clone());
        Ok(db)
    }

    fn migrate(&self, schema: &Schema, known: i64, newer: &dyn Fn(i64) -> Error) -> Result<()> {
        self.with_tx(|tx| {
            let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version > known {
                return Err(newer(version));
            }
            for (i, sql) in schema
                .migrations
                .iter()
                .enumerate()
                .skip(version.max(0) as usize)
            {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            }
            Ok(())
        })
    }

    /// Checkpoints the WAL from a thread of its own (PASSIVE: never blocks readers or
    /// writers), once this process has committed [`CHECKPOINT_AFTER`] times since the last
    /// one. Connections have automatic checkpoints off: SQLite would otherwise run them
    /// inside whichever commit crossed 1,000 WAL pages, and their fsyncs stalled that caller
    /// for 10-20 ms (the p99 of every write on a busy disk). The last connection to close
    /// checkpoints too, so a process that exits leaves a short WAL behind.
    ///
    /// The same thread runs the capabilities' `sweeps` every [`SWEEP_EVERY`], each in a
    /// transaction of its own that gives way at once to a busy database (next time).
    fn start_checkpointer(&self, sweeps: Vec<SweepRows>) {
        let path = self.path.clone();
        let closing = self.closing.clone();
        let written = self.written.clone();
        let writer = self.writer.clone();
        // Opened here, not on the thread: a thread inside SQLite (which holds its global
        // mutexes while it opens a file) when the process forks leaves the child's SQLite
        // locked forever; the thread's own SQLite work is rare (after many writes).
        let memory = self.memory;
        let Ok(mut conn) = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        ) else {
            self.closing.store(true, Ordering::Relaxed);
            return;
        };
        let _ = conn.busy_timeout(Duration::from_millis(0));
        let spawned = std::thread::Builder::new()
            .name("zerolag-sqlite-checkpoint".into())
            .spawn(move || {
                let mut done = 0u64;
                let mut swept = Instant::now();
                while !closing.load(Ordering::Relaxed) {
                    std::thread::sleep(CHECKPOINT_EVERY);
                    if closing.load(Ordering::Relaxed) {
                        break;
                    }
                    if !sweeps.is_empty() && swept.elapsed() >= SWEEP_EVERY {
                        swept = Instant::now();
                        sweep(&mut conn, &sweeps);
                    }
                    let now = written.load(Ordering::Relaxed);
                    if memory || now.wrapping_sub(done) < CHECKPOINT_AFTER {
                        continue;
                    }
                    done = now;
                    // Busy (another checkpointer, e.g. in another process) is fine: next tick.
                    let frames = conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
                        .unwrap_or(0);
                    if frames > WAL_RESET_FRAMES {
                        // This process's writers queue behind it rather than race it for
                        // SQLite's lock; another process's it waits for.
                        if let Some(_turn) = writer.try_lock_for(WAL_RESET_WAIT) {
                            let _ = conn.busy_timeout(WAL_RESET_WAIT);
                            let _ =
                                conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
                            let _ = conn.busy_timeout(Duration::from_millis(0));
                        }
                    }
                }
            });
        if spawned.is_err() {
            // No thread: fall back to SQLite's automatic checkpoints on every connection.
            self.closing.store(true, Ordering::Relaxed);
        }
    }

    /// How long a write waits for the write lock.
    pub fn busy_timeout(&self) -> Duration {
        self.busy_timeout
    }

    /// The process it was opened in.
    pub fn born(&self) -> super::fork::Born {
        self.born
    }

    /// The database file (for an in-memory store, its SQLite URI).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True for an in-memory store (`memory://`).
    pub fn in_memory(&self) -> bool {
        self.memory
    }

    fn connect(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        // Another process may hold the write lock for a moment; wait rather than fail.
        conn.busy_timeout(self.busy_timeout)?;
        if !self.memory {
            // (An in-memory database keeps its journal in memory; WAL needs a file.)
            conn.pragma_update(None, "journal_mode", "WAL")?;
        }
        // NORMAL in WAL mode is durable against process crashes; only power loss can drop
        // the last transactions.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A WAL started over is overwritten in place (no new blocks to allocate); one that a
        // burst grew past this is cut back to it then.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        if !self.closing.load(Ordering::Relaxed) {
            // The background checkpointer does it (see `start_checkpointer`).
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    /// Runs `f` on a pooled connection.
    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let conn = self.pool.lock().pop();
        let mut conn = match conn {
            Some(c) => c,
            None => self.connect()?,
        };
        let out = f(&mut conn);
        self.give_back(conn);
        out
    }

    fn give_back(&self, conn: Connection) {
        let mut pool = self.pool.lock();
        if pool.len() < 8 {
            pool.push(conn);
        }
    }

    /// Starts watching for commits on `topic` (see [`Watch`]). Take it before the read that
    /// may find nothing, so a commit in between is not missed.
    pub fn watch(&self, topic: Topic) -> Result<Watch<'_>> {
        let conn = match self.pool.lock().pop() {
            Some(c) => c,
            None => self.connect()?,
        };
        let slot = self.slot(topic);
        let commits = seen(&self.commits.lock(), slot);
        let data_version = Watch::data_version(&conn)?;
        Ok(Watch {
            db: self,
            slot,
            conn: Some(conn),
            data_version,
            commits,
        })
    }

    /// Runs `f` in one write transaction (`BEGIN IMMEDIATE`, so concurrent writers queue on
    /// the lock instead of failing on upgrade); rolled back if `f` fails. Its commit wakes
    /// every waiter of this process.
    pub fn with_tx<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        self.tx(self.topics.len(), f)
    }

    /// The slot of `topic` (the unnamed slot for a topic the schema does not list).
    fn slot(&self, topic: Topic) -> usize {
        self.topics
            .iter()
            .position(|t| *t == topic)
            .unwrap_or(self.topics.len())
    }

    /// [`Sqlite::with_tx`] for a transaction that changes only `topic`'s tables: its commit
    /// wakes only the waiters on `topic`.
    pub fn with_tx_on<T>(
        &self,
        topic: Topic,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.tx(self.slot(topic), f)
    }

    /// [`Sqlite::with_tx_on`] for a transaction that changes the tables of several topics
    /// (a capability's and the change feed's): its commit wakes the waiters on each.
    pub fn with_tx_on_all<T>(
        &self,
        topics: &[Topic],
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let (first, rest) = match topics.split_first() {
            Some((t, rest)) => (self.slot(*t), rest),
            None => (self.topics.len(), &[][..]),
        };
        let out = self.tx(first, f);
        if out.is_ok() {
            for t in rest {
                self.bump(self.slot(*t));
            }
        }
        out
    }

    fn tx<T>(
        &self,
        slot: usize,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.with(|conn| {
            let _turn = self.writer.try_lock_for(self.busy_timeout).ok_or_else(|| {
                Error::Timeout(format!(
                    "a write waited {:.1} s for the write lock of the embedded store (held by \
                     another process, or queued behind this process's writers waiting for it); \
                     raise sqlite://?timeout= if writes are just slow",
                    self.busy_timeout.as_secs_f64()
                ))
            })?;
            let before = conn.total_changes();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            // Only a transaction that wrote wakes waiters: a reader that found nothing and
            // wrote nothing must not wake itself.
            if conn.total_changes() != before {
                self.written.fetch_add(1, Ordering::Relaxed);
                self.bump(slot);
            }
            Ok(out)
        })
    }

    /// Wakes this process's waiters on `topic` without a commit (e.g. to let one see that it
    /// should stop).
    pub fn nudge(&self, topic: Topic) {
        self.bump(self.slot(topic));
    }

    /// Counts a commit in `slot` and wakes its waiters (every topic's for the unnamed slot).
    fn bump(&self, slot: usize) {
        let mut n = self.commits.lock();
        n[slot] = n[slot].wrapping_add(1);
        if slot == self.topics.len() {
            for c in &self.committed {
                c.notify_all();
            }
        } else {
            self.committed[slot].notify_all();
        }
    }

    /// Closes the pooled connections (a later call opens new ones).
    pub fn release_idle(&self) {
        self.pool.lock().clear();
    }

    /// SQLite library version.
    pub fn version() -> &'static str {
        rusqlite::version()
    }
}

/// Runs each sweep of expired rows in a transaction of its own (a busy database: next time).
fn sweep(conn: &mut Connection, sweeps: &[SweepRows]) {
    let now = crate::clock::now_ms();
    for s in sweeps {
        let Ok(tx) = conn.transaction_with_behavior(TransactionBehavior::Immediate) else {
            return;
        };
        if s(&tx, now).is_ok() {
            let _ = tx.commit();
        }
    }
}

/// Rows namespace `ns` holds in `tables` (each with an `ns` column).
pub fn count_rows(c: &Connection, ns: &str, tables: &[&str]) -> Result<u64> {
    let mut n = 0u64;
    for t in tables {
        let k: i64 = c.query_row(
            &format!("SELECT count(*) FROM {t} WHERE ns = ?1"),
            [ns],
            |r| r.get(0),
        )?;
        n += k as u64;
    }
    Ok(n)
}

/// Deletes namespace `ns`'s rows from `tables`; returns how many.
pub fn delete_rows(tx: &rusqlite::Transaction<'_>, ns: &str, tables: &[&str]) -> Result<u64> {
    let mut n = 0u64;
    for t in tables {
        n += tx.execute(&format!("DELETE FROM {t} WHERE ns = ?1"), [ns])? as u64;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here
    use super::*;

    /// The WAL header's salts: SQLite draws new ones whenever a commit starts the WAL over.
    fn salts(db: &Sqlite) -> Vec<u8> {
        let wal = db.path().with_extension("db-wal");
        std::fs::read(wal).unwrap()[16..24].to_vec()
    }

    fn write(db: &Sqlite) {
        db.with_tx(|tx| {
            tx.execute("PRAGMA user_version = user_version", [])?;
            tx.execute_batch("CREATE TABLE IF NOT EXISTS t (x); INSERT INTO t VALUES (1);")?;
            Ok(())
        })
        .unwrap();
    }

    // Embedded only: the WAL and its checkpoints are SQLite's; Redis has nothing like them.
    #[test]
    fn a_pause_does_not_start_the_wal_over() {
        let dir = std::env::temp_dir().join(format!("zl-wal-{:016x}", rand::random::<u64>()));
        let db = Sqlite::open(&dir, &Schema::default()).unwrap();
        write(&db);
        let before = salts(&db);
        // Several checkpointer ticks with few commits: nothing is copied back, so the next
        // commit appends to the WAL instead of starting it over (and fsyncing its header).
        std::thread::sleep(CHECKPOINT_EVERY * 4);
        write(&db);
        assert_eq!(
            salts(&db),
            before,
            "the WAL was restarted after an idle pause"
        );
        // After enough commits the checkpointer does copy the WAL back; the next commit then
        // starts it over.
        for _ in 0..CHECKPOINT_AFTER {
            write(&db);
        }
        std::thread::sleep(CHECKPOINT_EVERY * 4);
        write(&db);
        assert_ne!(salts(&db), before, "the WAL was never checkpointed");
        drop(db);
        let _ = std::fs::remove_dir_all(dir);
    }
}
