//! Where a hub keeps its data, read from the URL given to `zerolag.open()`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::durable::{Wait, DEFAULT_WAIT_TIMEOUT};
use crate::error::{Error, Result};

/// Options that apply to every Redis connection.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// How long to wait for a connection (and each reconnect attempt).
    pub connect_timeout: Duration,
    /// How long to wait for a reply before raising TimeoutError.
    pub response_timeout: Duration,
    /// How many times to reconnect before an operation fails with ConnectionError.
    pub retries: usize,
    /// How long a subscription (events, the change feed) waits for a silent server, one
    /// that takes connections but answers nothing (paused, swapping, a frozen VM), before
    /// its iterator raises TimeoutError. Followers read at least once a second while they
    /// wait, so each read is the ping.
    pub ping_interval: Duration,
    /// `wait_replicas` / `wait_timeout_ms`: each write waits until that many replicas have
    /// it (see [`super::durable`]). None: acknowledged once the master applied it.
    pub wait: Option<Wait>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(5),
            retries: 3,
            ping_interval: DEFAULT_PING_INTERVAL,
            wait: None,
        }
    }
}

/// Default of the `ping_interval` URL option.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(15);
/// Default of the embedded store's `timeout` (how long a write waits for another process's
/// write lock before raising TimeoutError).
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The parsed target of a hub.
#[derive(Debug, Clone)]
pub enum Target {
    /// Embedded SQLite: by default `<root>/.zerolag/zerolag.db`.
    Embedded {
        /// The database file.
        db: PathBuf,
        /// How long a write waits for the write lock another process holds (`sqlite://?timeout=`).
        busy_timeout: Duration,
    },
    /// Embedded SQLite in this process's memory (`memory://[name]`): no file; handles opened
    /// with the same name share it while one of them is open.
    Memory {
        /// The store's name (a fresh unique one for `memory://` without a name).
        name: String,
        /// How long a write waits for the write lock (`memory://name?timeout=`).
        busy_timeout: Duration,
    },
    /// One Redis server: the URL as the redis crate reads it (`redis://`, `rediss://`, `unix://`).
    Redis {
        /// URL without zerolag's own query options.
        url: String,
        /// Timeouts and retries.
        opts: RedisOptions,
        /// Host and port (or socket path) for messages.
        display: String,
    },
    /// A Redis Cluster reached through one or more seed nodes.
    Cluster {
        /// One URL per seed node.
        seeds: Vec<String>,
        /// Timeouts and retries.
        opts: RedisOptions,
        /// Seed list for messages.
        display: String,
    },
}

/// The embedded store of a hub rooted at `root`: `<root>/.zerolag/zerolag.db`.
pub fn default_db(root: &Path) -> PathBuf {
    root.join(".zerolag").join("zerolag.db")
}

/// What `sqlite://<path>` opens: `path` itself when it is a file or is named like a database
/// (`.db`, `.sqlite`, `.sqlite3`); otherwise `path` is a root, whose `.zerolag/zerolag.db`.
fn db_file(path: &Path) -> PathBuf {
    let named_like_db = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "db" | "sqlite" | "sqlite3"));
    let dir_like = path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/');
    if path.is_file() || (named_like_db && !dir_like) {
        path.to_path_buf()
    } else {
        default_db(path)
    }
}

fn secs(name: &str, v: &str) -> Result<Duration> {
    let f: f64 = v.parse().map_err(|_| {
        Error::validation(format!("URL option {name}={v} is not a number of seconds"))
    })?;
    if !(f > 0.0 && f <= 3600.0) {
        return Err(Error::validation(format!(
            "URL option {name}={v} must be in (0, 3600] seconds"
        )));
    }
    Ok(Duration::from_secs_f64(f))
}

/// The options of an embedded store's URL (`timeout`): the busy timeout.
fn embedded_options(query: &str) -> Result<Duration> {
    let mut busy_timeout = DEFAULT_BUSY_TIMEOUT;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=').unwrap_or((pair, "")) {
            ("timeout", v) => busy_timeout = secs("timeout", v)?,
            (other, _) => {
                return Err(Error::validation(format!(
                    "unknown option {other:?} of an embedded store URL; it reads timeout \
                     (seconds a write waits for another process's write lock)"
                )))
            }
        }
    }
    Ok(busy_timeout)
}

/// The name of an in-memory store: 1 to 64 of `A-Z a-z 0-9 _ . -`; none gives a fresh name
/// no other `memory://` URL of this process names.
fn memory_name(name: &str) -> Result<String> {
    static ANONYMOUS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = name.trim_end_matches('/');
    if name.is_empty() {
        let n = ANONYMOUS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Ok(format!("~{}-{n}", std::process::id()));
    }
    if name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(Error::validation(format!(
            "memory://{name}: a store name is 1 to 64 letters, digits, '_', '.' or '-'"
        )));
    }
    Ok(name.to_string())
}

/// Splits zerolag's own options (`timeout`, `connect_timeout`, `retries`, `cluster`) off the
/// query string; the rest goes to the redis crate untouched.
fn split_options(url: &str) -> Result<(String, RedisOptions, bool)> {
    let mut opts = RedisOptions::default();
    let mut cluster = false;
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => return Ok((url.to_string(), opts, false)),
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let mut rest = Vec::new();
    let (mut replicas, mut wait_timeout) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "timeout" => opts.response_timeout = secs(k, v)?,
            "ping_interval" => opts.ping_interval = secs(k, v)?,
            "connect_timeout" => opts.connect_timeout = secs(k, v)?,
            "retries" => {
                opts.retries = v.parse().map_err(|_| {
                    Error::validation(format!("URL option retries={v} is not a count"))
                })?
            }
            "cluster" => cluster = matches!(v, "1" | "true" | "yes" | ""),
            "wait_replicas" => match v.parse::<u32>() {
                Ok(n) if (1..=16).contains(&n) => replicas = Some(n),
                _ => {
                    return Err(Error::validation(format!(
                        "URL option wait_replicas={v} must be a count of replicas from 1 to 16"
                    )))
                }
            },
            "wait_timeout_ms" => match v.parse::<u64>() {
                Ok(ms) if (1..=60_000).contains(&ms) => {
                    wait_timeout = Some(Duration::from_millis(ms))
                }
                _ => {
                    return Err(Error::validation(format!(
                        "URL option wait_timeout_ms={v} must be milliseconds from 1 to 60000"
                    )))
                }
            },
            // Read by the redis crate itself.
            "db" | "protocol" => rest.push(pair),
            other => {
                return Err(Error::validation(format!(
                "unknown URL option {other:?}; zerolag reads timeout, connect_timeout, retries, \
                     ping_interval, wait_replicas, wait_timeout_ms, cluster, db and protocol"
            )))
            }
        }
    }
    opts.wait =
        match (replicas, wait_timeout) {
            (Some(replicas), t) => Some(Wait {
                replicas,
                timeout: t.unwrap_or(DEFAULT_WAIT_TIMEOUT),
            }),
            (None, Some(_)) => return Err(Error::validation(
                "URL option wait_timeout_ms needs wait_replicas (how many replicas to wait for)",
            )),
            (None, None) => None,
        };
    if let Some(w) = opts.wait {
        if w.timeout >= opts.response_timeout {
            return Err(Error::validation(format!(
                "URL option wait_timeout_ms={} must be below the reply timeout ({} ms, \
                 ?timeout=): a write would time out before its replicas could confirm it",
                w.timeout.as_millis(),
                opts.response_timeout.as_millis()
            )));
        }
    }
    let mut out = base.to_string();
    if !rest.is_empty() {
        out.push('?');
        out.push_str(&rest.join("&"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Ok((out, opts, cluster))
}

impl Target {
    /// Reads `url` (None means embedded) relative to `root`.
    pub fn parse(url: Option<&str>, root: PathBuf) -> Result<Target> {
        let url = match url.map(str::trim) {
            None | Some("") | Some("embedded") => {
                return Ok(Target::Embedded {
                    db: default_db(&root),
                    busy_timeout: DEFAULT_BUSY_TIMEOUT,
                })
            }
            Some(u) => u,
        };
        if let Some(rest) = url.strip_prefix("memory://") {
            let (name, query) = rest.split_once('?').unwrap_or((rest, ""));
            let busy_timeout = embedded_options(query)?;
            return Ok(Target::Memory {
                name: memory_name(name)?,
                busy_timeout,
            });
        }
        if let Some(rest) = url.strip_prefix("sqlite://") {
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            let busy_timeout = embedded_options(query)?;
            let db = if path.is_empty() {
                default_db(&root)
            } else {
                db_file(Path::new(path))
            };
            return Ok(Target::Embedded { db, busy_timeout });
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            Error::validation(format!(
                "{url:?} is not a store URL; use redis://host:port/db, rediss://…, unix:///path, \
                 redis+cluster://host1:port1,host2:port2, or no URL for the embedded store"
            ))
        })?;
        let (plain_scheme, cluster_scheme) = match scheme {
            "redis" | "rediss" | "unix" | "redis+unix" | "valkey" | "valkeys" => (scheme, false),
            "redis+cluster" => ("redis", true),
            "rediss+cluster" => ("rediss", true),
            other => {
                return Err(Error::validation(format!(
                    "unknown URL scheme {other:?}; use redis, rediss, unix, redis+cluster or rediss+cluster"
                )))
            }
        };
        let plain_scheme = match plain_scheme {
            "valkey" => "redis",
            "valkeys" => "rediss",
            s => s,
        };
        let (clean, opts, cluster_opt) = split_options(&format!("{plain_scheme}://{rest}"))?;
        let rest = &clean[plain_scheme.len() + 3..];
        if cluster_scheme || cluster_opt {
            if plain_scheme != "redis" && plain_scheme != "rediss" {
                return Err(Error::validation(
                    "a cluster is reached over redis:// or rediss:// only",
                ));
            }
            // userinfo@h1:p1,h2:p2/...?query
            let (userinfo, hostpart) = match rest.rsplit_once('@') {
                Some((u, h)) => (Some(u), h),
                None => (None, rest),
            };
            let (hosts, tail) = match hostpart.find(['/', '?', '#']) {
                Some(i) => (&hostpart[..i], &hostpart[i..]),
                None => (hostpart, ""),
            };
            let seeds: Vec<String> = hosts
                .split(',')
                .filter(|h| !h.is_empty())
                .map(|h| match userinfo {
                    Some(u) => format!("{plain_scheme}://{u}@{h}{tail}"),
                    None => format!("{plain_scheme}://{h}{tail}"),
                })
                .collect();
            if seeds.is_empty() {
                return Err(Error::validation(
                    "a cluster URL needs at least one host:port seed",
                ));
            }
            return Ok(Target::Cluster {
                seeds,
                opts,
                display: hosts.to_string(),
            });
        }
        let display = match rest.rsplit_once('@') {
            Some((_, h)) => h,
            None => rest,
        };
        let display = display
            .split(['?', '#'])
            .next()
            .unwrap_or(display)
            .to_string();
        Ok(Target::Redis {
            url: clean,
            opts,
            display,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_by_default() {
        assert!(matches!(
            Target::parse(None, ".".into()),
            Ok(Target::Embedded { .. })
        ));
    }

    #[test]
    fn cluster_seeds_keep_credentials() {
        let t = Target::parse(Some("redis+cluster://u:p@a:1,b:2/?timeout=1.5"), ".".into());
        match t {
            Ok(Target::Cluster { seeds, opts, .. }) => {
                assert_eq!(seeds, vec!["redis://u:p@a:1/", "redis://u:p@b:2/"]);
                assert_eq!(opts.response_timeout, Duration::from_millis(1500));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn embedded_timeout_and_ping_interval() {
        match Target::parse(Some("sqlite://?timeout=0.25"), "r".into()) {
            Ok(Target::Embedded { db, busy_timeout }) => {
                assert_eq!(db, PathBuf::from("r/.zerolag/zerolag.db"));
                assert_eq!(busy_timeout, Duration::from_millis(250));
            }
            other => panic!("{other:?}"),
        }
        assert!(Target::parse(Some("sqlite://?timout=1"), ".".into()).is_err());
        match Target::parse(Some("redis://h:1/?ping_interval=2"), ".".into()) {
            Ok(Target::Redis { opts, url, .. }) => {
                assert_eq!(opts.ping_interval, Duration::from_secs(2));
                assert_eq!(url, "redis://h:1/");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn own_options_are_stripped() {
        match Target::parse(Some("redis://h:1/2?timeout=3&protocol=resp3"), ".".into()) {
            Ok(Target::Redis { url, .. }) => assert_eq!(url, "redis://h:1/2?protocol=resp3"),
            other => panic!("{other:?}"),
        }
        assert!(Target::parse(Some("redis://h:1/?timeout=x"), ".".into()).is_err());
        assert!(Target::parse(Some("http://h"), ".".into()).is_err());
        assert!(Target::parse(Some("redis://h:1/?timout=1"), ".".into()).is_err());
    }

    #[test]
    fn a_sqlite_url_names_a_database_file_or_a_root() {
        let db = |url: &str| match Target::parse(Some(url), "r".into()) {
            Ok(Target::Embedded { db, .. }) => db,
            other => panic!("{other:?}"),
        };
        assert_eq!(db("sqlite:///data/x.db"), PathBuf::from("/data/x.db"));
        assert_eq!(
            db("sqlite://rel/x.SQLite3?timeout=1"),
            PathBuf::from("rel/x.SQLite3")
        );
        assert_eq!(
            db("sqlite:///data/store"),
            PathBuf::from("/data/store/.zerolag/zerolag.db")
        );
        assert_eq!(
            db("sqlite:///data/v1.db/"),
            PathBuf::from("/data/v1.db/.zerolag/zerolag.db")
        );
        assert_eq!(db("embedded"), PathBuf::from("r/.zerolag/zerolag.db"));
    }

    #[test]
    fn memory_urls_name_a_store_or_get_a_fresh_one() {
        let name = |url: &str| match Target::parse(Some(url), "r".into()) {
            Ok(Target::Memory { name, busy_timeout }) => (name, busy_timeout),
            other => panic!("{other:?}"),
        };
        assert_eq!(name("memory://tests").0, "tests");
        assert_eq!(
            name("memory://a-b.c_1/?timeout=2"),
            ("a-b.c_1".into(), Duration::from_secs(2))
        );
        let (a, b) = (name("memory://").0, name("memory://").0);
        assert_ne!(a, b, "each anonymous store is its own");
        assert!(
            a.starts_with('~'),
            "an anonymous name is one no URL can give"
        );
        for bad in [
            "memory://a b",
            "memory://../x",
            "memory://x?y=1",
            "memory://é",
        ] {
            assert!(Target::parse(Some(bad), "r".into()).is_err(), "{bad}");
        }
        assert!(Target::parse(Some(&format!("memory://{}", "x".repeat(65))), "r".into()).is_err());
    }

    #[test]
    fn wait_replicas_and_its_timeout() {
        match Target::parse(
            Some("redis://h:1/?wait_replicas=2&wait_timeout_ms=250"),
            ".".into(),
        ) {
            Ok(Target::Redis { opts, url, .. }) => {
                let w = opts.wait.map(|w| (w.replicas, w.timeout));
                assert_eq!(w, Some((2, Duration::from_millis(250))));
                assert_eq!(url, "redis://h:1/");
            }
            other => panic!("{other:?}"),
        }
        match Target::parse(Some("redis+cluster://a:1,b:2/?wait_replicas=1"), ".".into()) {
            Ok(Target::Cluster { opts, .. }) => {
                assert_eq!(opts.wait.map(|w| w.timeout), Some(DEFAULT_WAIT_TIMEOUT))
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            "wait_replicas=0",
            "wait_replicas=x",
            "wait_timeout_ms=100",
            "wait_replicas=1&wait_timeout_ms=0",
            "wait_replicas=1&wait_timeout_ms=5000",
            "wait_replicas=1&wait_timeout_ms=900&timeout=0.5",
        ] {
            let url = format!("redis://h:1/?{bad}");
            assert!(Target::parse(Some(&url), ".".into()).is_err(), "{bad}");
        }
    }
}
