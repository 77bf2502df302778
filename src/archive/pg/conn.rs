//! A PostgreSQL archive from its DSN: two connections made on demand and remade after a
//! failure (one for writes and erasure, which need transactions; one shared by the queries),
//! the schema migrated on the first connection. No TLS (see `docs/archive.md`).

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls};

use crate::error::{Error, Result};

/// How long a connection attempt may take before the archive counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The start of every error message of an archive that cannot be reached (the Python layer
/// raises `ArchiveUnavailable` for these).
pub const UNAVAILABLE: &str = "archive unavailable";

/// One PostgreSQL archive (its DSN parsed, connections made when first needed).
pub struct Pg {
    config: Config,
    shown: String,
    writer: tokio::sync::Mutex<Option<Client>>,
    reader: parking_lot::Mutex<Option<Arc<Client>>>,
    migrated: AtomicBool,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pg({})", self.shown)
    }
}

/// Parses a DSN: a `postgresql://` or `postgres://` URL, or `key=value` pairs. The error
/// names what is wrong and never repeats the password.
pub fn parse(dsn: &str) -> Result<Config> {
    let dsn = dsn.trim();
    if dsn.is_empty() {
        return Err(Error::validation(
            "archive DSN is empty; pass postgresql://user@host:port/database",
        ));
    }
    let is_url = dsn.contains("://");
    if is_url && !(dsn.starts_with("postgresql://") || dsn.starts_with("postgres://")) {
        let scheme = dsn.split("://").next().unwrap_or_default();
        return Err(Error::validation(format!(
            "archive DSN scheme {scheme:?} is not supported; use postgresql:// (or postgres://)"
        )));
    }
    if !is_url && !dsn.contains('=') {
        return Err(Error::validation(
            "archive DSN is neither a postgresql:// URL nor key=value pairs",
        ));
    }
    let mut cfg = Config::from_str(dsn).map_err(|e| {
        let msg = e.to_string();
        // tokio-postgres does not echo values, but make sure a password never shows.
        let msg = match password_of(dsn) {
            Some(p) if !p.is_empty() => msg.replace(&p, "***"),
            _ => msg,
        };
        Error::validation(format!("archive DSN is not valid: {msg}"))
    })?;
    if cfg.get_hosts().is_empty() {
        return Err(Error::validation(
            "archive DSN names no host; add one (postgresql://user@host:port/database)",
        ));
    }
    if cfg.get_user().is_none() {
        return Err(Error::validation(
            "archive DSN names no user; add one (postgresql://user@host:port/database)",
        ));
    }
    if cfg.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
        return Err(Error::validation(
            "archive DSN asks for TLS (sslmode=require), which this version does not speak; \
             see docs/archive.md (TLS)",
        ));
    }
    if cfg.get_connect_timeout().is_none() {
        cfg.connect_timeout(CONNECT_TIMEOUT);
    }
    if cfg.get_application_name().is_none() {
        cfg.application_name("zerolag-archive");
    }
    Ok(cfg)
}

fn password_of(dsn: &str) -> Option<String> {
    if let Some(rest) = dsn.split_once("://").map(|(_, r)| r) {
        let auth = rest.split(['/', '?']).next()?.rsplit_once('@')?.0;
        return auth.split_once(':').map(|(_, p)| p.to_string());
    }
    dsn.split_whitespace()
        .find_map(|kv| kv.strip_prefix("password="))
        .map(|p| p.trim_matches('\'').to_string())
}

/// A tokio-postgres error as the core's: a server's refusal of the credentials is
/// Authentication, other server errors Backend, the rest (unreachable, connection lost)
/// Connection starting with [`UNAVAILABLE`].
pub fn map_err(e: tokio_postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        if code == "28P01" || code == "28000" {
            return Error::Authentication(format!("archive: {}", db.message()));
        }
        return Error::Backend(format!("archive: {} ({code})", db.message()));
    }
    Error::Connection(format!("{UNAVAILABLE}: {e}"))
}

impl Pg {
    /// The archive at `dsn` (parsed now, connected when first used).
    pub fn new(dsn: &str) -> Result<Pg> {
        let config = parse(dsn)?;
        Ok(Pg {
            shown: shown(&config),
            config,
            writer: tokio::sync::Mutex::new(None),
            reader: parking_lot::Mutex::new(None),
            migrated: AtomicBool::new(false),
        })
    }

    /// Host, port and database, for messages (no user or password).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    async fn connect(&self) -> Result<Client> {
        let (client, conn) = self.config.connect(NoTls).await.map_err(map_err)?;
        crate::engine::runtime().spawn(async move {
            if let Err(e) = conn.await {
                log::debug!("archive connection ended: {e}");
            }
        });
        Ok(client)
    }

    /// The write connection (made, and the schema migrated, if needed); held until the guard
    /// drops. After an error the caller calls [`Pg::reset_if_closed`].
    pub async fn writer(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Client>>> {
        let mut g = self.writer.lock().await;
        if g.as_ref().is_some_and(|c| c.is_closed()) {
            *g = None;
        }
        if g.is_none() {
            let mut c = self.connect().await?;
            if !self.migrated.load(Ordering::Acquire) {
                super::schema::migrate(&mut c).await?;
                self.migrated.store(true, Ordering::Release);
            }
            super::write::prepare(&c).await?;
            *g = Some(c);
        }
        Ok(g)
    }

    /// The shared query connection (made, and the schema migrated, if needed).
    pub async fn reader(&self) -> Result<Arc<Client>> {
        if let Some(c) = self.reader.lock().as_ref() {
            if !c.is_closed() {
                return Ok(c.clone());
            }
        }
        if !self.migrated.load(Ordering::Acquire) {
            // Migrates through the writer (one place for it).
            drop(self.writer().await?);
        }
        let c = Arc::new(self.connect().await?);
        *self.reader.lock() = Some(c.clone());
        Ok(c)
    }

    /// Connects and migrates now (attach does this once to report a bad database early).
    pub async fn check(&self) -> Result<()> {
        drop(self.writer().await?);
        Ok(())
    }

    /// Drops the connections (the next use reconnects).
    pub async fn reset(&self) {
        *self.writer.lock().await = None;
        *self.reader.lock() = None;
    }
}

fn shown(c: &Config) -> String {
    let host = match c.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => String::new(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", c.get_dbname().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsns() {
        assert!(parse("postgresql://u@h:5432/db").is_ok());
        assert!(parse("postgres://u:pw@h/db").is_ok());
        assert!(parse("host=h user=u dbname=d").is_ok());
        for bad in [
            "",
            "mysql://u@h/db",
            "nothing",
            "postgresql://u@h/db?sslmode=bogus",
            "postgresql://u@h/db?sslmode=require",
            "postgresql://h/db",
        ] {
            let e = parse(bad).expect_err(bad).to_string();
            assert!(!e.is_empty());
        }
        let e = parse("postgresql://u:sekret@h:notaport/db")
            .expect_err("bad port")
            .to_string();
        assert!(!e.contains("sekret"), "{e}");
    }
}
