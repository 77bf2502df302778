//! The polling connection against a scripted server on a real socket: each request gets
//! the next scripted reply, written in pieces with pauses, so replies can land while the
//! client polls, after it went to sleep, or split across both.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use redis::cluster::Connect as _;
use redis::{cmd, ConnectionLike};

use super::*;

/// A reply: pieces written with a pause before each.
type Reply = Vec<(Duration, &'static [u8])>;

/// Serves `replies` in order, one per request read; closes the socket after the last.
fn server(replies: Vec<Reply>) -> (String, thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", l.local_addr().unwrap());
    let h = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = [0u8; 4096];
        for reply in replies {
            if s.read(&mut buf).unwrap() == 0 {
                return;
            }
            for (pause, bytes) in reply {
                thread::sleep(pause);
                s.write_all(bytes).unwrap();
            }
        }
    });
    (url, h)
}

fn open(url: &str) -> SpinConn {
    let info = url.into_connection_info().unwrap();
    let c = SpinConn::open(info, Some(Duration::from_secs(2))).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert!(c.polls());
    c
}

fn wait_ns(c: &SpinConn) -> u64 {
    match &c.inner {
        Inner::Plain(p) => p.io.wait_ns,
        Inner::Crate(_) => unreachable!(),
    }
}

const NOW: Duration = Duration::ZERO;
const LATE: Duration = Duration::from_millis(3); // well past the 200 us polling limit

#[test]
fn replies_read_while_polling_after_sleeping_and_split_across_both() {
    let (url, h) = server(vec![
        vec![(NOW, b"+PONG\r\n")],
        vec![(LATE, b"+PONG\r\n")],
        vec![(NOW, b"$5\r\nhe"), (LATE, b"llo\r\n")],
        vec![(NOW, b"*2\r\n:1\r\n"), (LATE, b":2\r\n")],
    ]);
    let mut c = open(&url);
    for _ in 0..2 {
        assert_eq!(cmd("PING").query::<String>(&mut c).unwrap(), "PONG");
    }
    assert_eq!(
        cmd("GET").arg("k").query::<String>(&mut c).unwrap(),
        "hello"
    );
    assert_eq!(cmd("X").query::<Vec<i64>>(&mut c).unwrap(), vec![1, 2]);
    h.join().unwrap();
}

#[test]
fn a_slow_server_turns_polling_off_and_a_fast_one_back_on() {
    let mut replies: Vec<Reply> = (0..12).map(|_| vec![(LATE, &b"+OK\r\n"[..])]).collect();
    replies.extend((0..60).map(|_| vec![(NOW, &b"+OK\r\n"[..])]));
    let (url, h) = server(replies);
    let mut c = open(&url);
    for _ in 0..12 {
        cmd("SET").query::<()>(&mut c).unwrap();
    }
    let limit = spin_limit().as_nanos() as u64;
    assert!(wait_ns(&c) > limit, "average wait {} ns", wait_ns(&c));
    for _ in 0..60 {
        cmd("SET").query::<()>(&mut c).unwrap();
    }
    assert!(wait_ns(&c) < limit, "average wait {} ns", wait_ns(&c));
    h.join().unwrap();
}

#[test]
fn pipelines_and_an_aborted_transaction() {
    let (url, h) = server(vec![
        vec![(NOW, b"+OK\r\n:7\r\n"), (LATE, b"$1\r\nx\r\n")],
        vec![(
            NOW,
            b"+OK\r\n-ERR unknown command\r\n+QUEUED\r\n-EXECABORT aborted\r\n",
        )],
    ]);
    let mut c = open(&url);
    let (n, s): (i64, String) = redis::pipe()
        .cmd("SET")
        .ignore()
        .cmd("INCR")
        .cmd("GET")
        .query(&mut c)
        .unwrap();
    assert_eq!((n, s.as_str()), (7, "x"));
    let r: RedisResult<(i64,)> = redis::pipe().atomic().cmd("BAD").cmd("INCR").query(&mut c);
    let e = r.unwrap_err();
    assert!(e.to_string().contains("unknown command"), "{e}");
    assert!(c.is_open(), "a server error leaves the connection usable");
    h.join().unwrap();
}

#[test]
fn a_reply_cut_short_closes_the_connection() {
    let (url, h) = server(vec![vec![(NOW, b"$10\r\nhal")]]);
    let mut c = open(&url);
    let e = cmd("GET").arg("k").query::<String>(&mut c).unwrap_err();
    assert!(e.is_io_error() || e.is_connection_dropped(), "{e:?}");
    assert!(!c.is_open());
    let e = cmd("PING").query::<String>(&mut c).unwrap_err();
    assert!(e.to_string().contains("closed"), "{e}");
    h.join().unwrap();
}

#[test]
fn no_reply_within_the_timeout_is_a_timeout() {
    let (url, h) = server(vec![vec![(Duration::from_millis(600), b"+LATE\r\n")]]);
    let mut c = open(&url);
    c.set_read_timeout(Some(Duration::from_millis(150)))
        .unwrap();
    let e = cmd("PING").query::<String>(&mut c).unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert!(
        !c.is_open(),
        "a late reply must not be read as the next one's"
    );
    h.join().unwrap();
}

#[test]
fn polling_threads_are_bounded() {
    let max = max_polling();
    let held: Vec<PollSlot> = (0..max).map_while(|_| PollSlot::take()).collect();
    // Other tests may hold slots at the same moment, so only the bound itself is exact.
    assert!(held.len() <= max);
    if held.len() == max {
        assert!(PollSlot::take().is_none());
    }
    drop(held);
    assert!(PollSlot::take().is_some());
}

#[test]
fn a_request_sent_here_and_answered_on_another_thread() {
    let (url, h) = server(vec![
        vec![(NOW, b"+FAST\r\n")],
        vec![(LATE, b"+SLOW\r\n")],
        vec![(NOW, b":1\r\n"), (LATE, b":2\r\n")],
    ]);
    let mut c = open(&url);
    let ping = cmd("PING").get_packed_command();
    // A fast reply is usually in by the end of start(); either way finish() reads it.
    c.start(&ping).unwrap();
    assert_eq!(c.finish().unwrap(), Value::SimpleString("FAST".into()));
    assert!(
        !c.start(&ping).unwrap(),
        "a reply 3 ms late is not in after polling"
    );
    let mut c = thread::spawn(move || {
        assert_eq!(c.finish().unwrap(), Value::SimpleString("SLOW".into()));
        c
    })
    .join()
    .unwrap();
    let two = redis::pipe().cmd("INCR").cmd("INCR").get_packed_pipeline();
    c.start(&two).unwrap();
    assert_eq!(
        c.finish_pipeline(0, 2).unwrap(),
        vec![Value::Int(1), Value::Int(2)]
    );
    h.join().unwrap();
}

#[test]
fn an_idle_connection_sleeps_for_its_next_reply() {
    let (url, h) = server(vec![vec![(NOW, b"+A\r\n")], vec![(NOW, b"+B\r\n")]]);
    let mut c = open(&url);
    assert_eq!(cmd("PING").query::<String>(&mut c).unwrap(), "A");
    thread::sleep(HOT * 5);
    let ping = cmd("PING").get_packed_command();
    assert!(!c.start(&ping).unwrap(), "polled after a pause");
    assert_eq!(c.finish().unwrap(), Value::SimpleString("B".into()));
    h.join().unwrap();
}
