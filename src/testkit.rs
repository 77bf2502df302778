//! Test-only helpers that run a capability's tests on both engines, the way redis-rs tests
//! itself: against a real `redis-server` started by the test.
//!
//! Write a store-touching test once, as `fn name(h: &Hub)`, and put `both!(name);` above it:
//! it becomes two tests, `name::embedded` (SQLite in a temporary directory) and `name::redis`
//! (a `redis-server` of its own), each on a fresh namespace. `cargo test ::redis` runs only
//! the Redis halves.
//!
//! Every Redis half starts its own server rather than sharing one per test binary: Rust never
//! drops statics, so a shared server would outlive `cargo test`, while a per-test guard is
//! dropped when the test returns or panics (the harness unwinds), killing and reaping the
//! server and removing its directory. A server starts in a few milliseconds, so this stays
//! cheap. Should the test process die without unwinding (abort, SIGKILL), a watchdog started
//! with each server stops it (see [`WATCHDOG`]); only the temp directories stay behind then.
//!
//! `redis-server` must be on PATH; when it is not, the Redis half fails saying so (`make test`
//! installs it through `scripts/ensure-redis.sh`). It is never skipped silently.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::hub::Hub;

/// How long a server may take to answer PING (generous: 2-core machines under load).
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Fresh servers tried before giving up when the port picked turns out to be taken.
const START_ATTEMPTS: usize = 5;

/// What a test says when `redis-server` is missing.
const MISSING_REDIS: &str = "redis-server not found on PATH: the Redis half of the Rust tests \
     starts one. Install it: `make test` does (scripts/ensure-redis.sh), or apt-get install \
     redis-server (macOS: brew install redis)";

/// A directory under the system temp dir, removed (with its contents) when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory whose name starts with `zl-test-<what>-`.
    pub fn new(what: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "zl-test-{what}-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&p).expect("create a temp dir");
        TempDir(p)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `redis-server` on a free port of 127.0.0.1, without persistence, in a temp directory;
/// killed and reaped when dropped.
pub struct RedisServer {
    child: Child,
    port: u16,
    // Declared after `child` so the directory goes after the server stopped writing to it.
    dir: TempDir,
}

impl RedisServer {
    /// Starts a server and waits until it answers PING; panics (failing the test) when
    /// `redis-server` is missing or does not come up.
    pub fn start() -> RedisServer {
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            match RedisServer::try_start() {
                Ok(s) => return s,
                // Another process took the port between our probe and the server's bind.
                Err(Start::PortTaken(log)) => last = log,
                Err(Start::Failed(msg)) => panic!("{msg}"),
            }
        }
        panic!("redis-server found no free port in {START_ATTEMPTS} attempts; its log:\n{last}")
    }

    fn try_start() -> Result<RedisServer, Start> {
        let port = free_port();
        let dir = TempDir::new("redis");
        let log = dir.path().join("redis.log");
        let bin =
            find_on_path("redis-server").ok_or_else(|| Start::Failed(MISSING_REDIS.into()))?;
        let child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg(bin)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Start::Failed(format!("could not start redis-server: {e}")))?;
        // From here on the guard owns the process: an early return kills it.
        let mut server = RedisServer { child, port, dir };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(if log.contains("Address already in use") {
                    Start::PortTaken(log)
                } else {
                    Start::Failed(format!(
                        "redis-server exited at start ({status}); log:\n{log}"
                    ))
                });
            }
            if server.answers() {
                return Ok(server);
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(Start::Failed(format!(
                    "redis-server on port {port} did not answer PING within {START_TIMEOUT:?}; \
                     log:\n{log}"
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// True once the server answers PING and is ours: another process that grabbed the port
    /// first would answer too, so compare the pid INFO reports.
    fn answers(&self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut r = BufReader::new(&s);
        let pong = (&s).write_all(b"*1\r\n$4\r\nPING\r\n").is_ok()
            && reply(&mut r).is_some_and(|l| l == "+PONG");
        let info = (&s)
            .write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
            .is_ok()
            && reply(&mut r)
                .is_some_and(|t| t.contains(&format!("process_id:{}\r", self.child.id())));
        pong && info
    }

    /// The URL a hub opens.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // Closing stdin has the watchdog kill the server; reaping it here (before its pid can
        // be reused) and SIGKILL as a fallback leave no zombie or orphan behind. Errors mean
        // it is already gone.
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(2);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `redis-server` (`$0`, with arguments `$@`) in place of the shell, so the child's pid
/// is the server's, after forking a watchdog that kills it once the shell's stdin, a pipe from
/// the test process, reaches end of file: when the guard drops, and also when the test
/// process dies without unwinding (abort, stack overflow, SIGKILL), so even then no server
/// outlives it. The watchdog reads a copy of stdin on fd 3 because a background job's own
/// stdin is /dev/null; the server gets neither.
const WATCHDOG: &str = r#"exec 3<&0
(read -r _ <&3; kill -9 $$ 2>/dev/null) &
exec "$0" "$@" 0</dev/null 3<&-"#;

/// `name` in a directory of PATH, if there.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Why a server did not start.
enum Start {
    /// Its port was taken (the server's log): try another.
    PortTaken(String),
    /// Anything else: the test fails with this message.
    Failed(String),
}

/// One RESP reply read from `r`: the status or error line, or a bulk string's body.
fn reply(r: &mut impl BufRead) -> Option<String> {
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let line = line.trim_end().to_string();
    let Some(len) = line.strip_prefix('$') else {
        return Some(line);
    };
    let len: usize = len.parse().ok()?;
    let mut body = vec![0; len + 2];
    r.read_exact(&mut body).ok()?;
    String::from_utf8(body).ok()
}

/// A TCP port of 127.0.0.1 nothing listens on, never handed out before in this process (so
/// two servers started at once do not race for one port).
fn free_port() -> u16 {
    static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    for _ in 0..200 {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
        let port = l.local_addr().expect("local address").port();
        let mut seen = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if seen.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
    panic!("no free port found")
}

/// The engines a [`both!`] test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// SQLite in a temporary directory.
    Embedded,
    /// A `redis-server` started for the test.
    Redis,
}

/// A hub on a fresh namespace of `engine`, with what it needs kept alive; dereferences to the
/// [`Hub`]. Dropping it closes the hub, then stops the server, then removes the directory.
pub struct TestHub {
    // Field order is drop order: the hub lets go of its connections before the server dies.
    hub: Hub,
    server: Option<RedisServer>,
    root: TempDir,
}

impl TestHub {
    /// A hub on `engine`.
    pub fn new(engine: Engine) -> TestHub {
        let root = TempDir::new("hub");
        let ns = format!("t{:08x}", rand::random::<u32>());
        let server = (engine == Engine::Redis).then(RedisServer::start);
        let url = server.as_ref().map(RedisServer::url);
        let hub = Hub::open_blocking(url, root.path().to_path_buf(), ns)
            .unwrap_or_else(|e| panic!("open a {engine:?} hub: {e}"));
        TestHub { hub, server, root }
    }

    /// A hub on the embedded store.
    pub fn embedded() -> TestHub {
        TestHub::new(Engine::Embedded)
    }

    /// A hub on a Redis server of its own.
    pub fn redis() -> TestHub {
        TestHub::new(Engine::Redis)
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        // Idle connections go now; the fields then drop in order (hub, server, directory).
        self.hub.close();
    }
}

impl Deref for TestHub {
    type Target = Hub;

    fn deref(&self) -> &Hub {
        &self.hub
    }
}

/// Runs each named test function on both engines: `both!(name);` next to
/// `fn name(h: &Hub) -> Result<()> { ... }` (or returning `()`) adds a module `name` with two
/// tests, `embedded` and `redis`, each calling the function with a [`TestHub`] on a fresh
/// namespace. The functions stay plain items, so rustfmt formats them, and one never listed
/// here is dead code, which clippy refuses.
macro_rules! both {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn embedded() -> impl std::process::Termination {
                super::$name(&$crate::testkit::TestHub::embedded())
            }

            #[test]
            fn redis() -> impl std::process::Termination {
                super::$name(&$crate::testkit::TestHub::redis())
            }
        }
    )+};
}
pub(crate) use both;

mod tests {
    use super::*;

    /// Fails unless process `pid` is gone (checked where /proc tells).
    fn assert_gone(pid: u32) {
        let alive = cfg!(target_os = "linux") && Path::new(&format!("/proc/{pid}")).exists();
        assert!(!alive, "redis-server {pid} still running");
    }

    #[test]
    fn a_server_answers_and_is_gone_once_dropped() {
        let s = RedisServer::start();
        assert!(s.answers());
        let (pid, dir) = (s.child.id(), s.dir.path().to_path_buf());
        drop(s);
        assert_gone(pid);
        assert!(!dir.exists(), "{} left behind", dir.display());
    }

    #[test]
    fn the_server_stops_when_the_test_process_lets_go_of_its_stdin() {
        // What the kernel does when the test process dies without unwinding.
        let mut s = RedisServer::start();
        drop(s.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(s.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            matches!(s.child.try_wait(), Ok(Some(_))),
            "the watchdog did not stop redis-server"
        );
    }

    #[test]
    fn a_panicking_test_leaves_no_server_or_directory_behind() {
        let seen = Mutex::new(None);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let h = TestHub::redis();
            let s = h.server.as_ref().expect("a Redis hub has a server");
            *seen.lock().unwrap_or_else(|e| e.into_inner()) = Some((
                s.child.id(),
                s.dir.path().to_path_buf(),
                h.root.path().to_path_buf(),
            ));
            panic!("a failing test");
        }));
        assert!(outcome.is_err());
        let (pid, server_dir, root) = seen
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .expect("the hub opened");
        assert_gone(pid);
        for d in [server_dir, root] {
            assert!(!d.exists(), "{} left behind", d.display());
        }
    }
}
