//! The Prometheus text exposition format (version 0.0.4) of a [`Snapshot`]: `# HELP` and
//! `# TYPE` lines, every name prefixed `zerolag_`, label values escaped.

use std::fmt::Write;

use super::{ops, snapshot, Snapshot};
use crate::engine::Op;
use crate::hub::Hub;

/// The metrics of `hub` as Prometheus text (what `GET /metrics` serves).
pub fn prometheus(hub: &Hub) -> Op<String> {
    snapshot(hub).map(|s| render(&s))
}

/// A label value as the format wants it: backslash, double quote and newline escaped.
fn esc(v: &str) -> String {
    let mut o = String::with_capacity(v.len());
    for ch in v.chars() {
        match ch {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o
}

/// A sample value: integers as integers, floats in Rust's shortest form, never exponents.
fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

struct Out(String);

impl Out {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP zerolag_{name} {help}");
        let _ = writeln!(self.0, "# TYPE zerolag_{name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        self.0.push_str("zerolag_");
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", esc(val));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", num(v));
    }

    fn gauge(&mut self, name: &str, help: &str, v: f64) {
        self.head(name, "gauge", help);
        self.sample(name, &[], v);
    }
}

/// Renders a snapshot.
pub fn render(s: &Snapshot) -> String {
    let st = &s.store;
    let mut o = Out(String::with_capacity(4096));
    o.head(
        "info",
        "gauge",
        "The zerolag version, the store's backend and the namespace (always 1).",
    );
    o.sample(
        "info",
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("backend", st.backend),
            ("namespace", &st.namespace),
        ],
        1.0,
    );

    o.head(
        "operations_total",
        "counter",
        "Calls from Python by capability and outcome (ok or the error's type), this process.",
    );
    for c in &s.operations.calls {
        o.sample(
            "operations_total",
            &[("capability", c.capability), ("outcome", c.outcome)],
            c.count as f64,
        );
    }
    o.head(
        "operation_duration_seconds",
        "histogram",
        "Time of calls from Python by capability, this process.",
    );
    for l in &s.operations.latency {
        for (le, n) in &l.buckets {
            o.sample(
                "operation_duration_seconds_bucket",
                &[("capability", l.capability), ("le", &num(*le))],
                *n as f64,
            );
        }
        o.sample(
            "operation_duration_seconds_bucket",
            &[("capability", l.capability), ("le", "+Inf")],
            l.count as f64,
        );
        let cap = [("capability", l.capability)];
        o.sample("operation_duration_seconds_sum", &cap, l.sum);
        o.sample("operation_duration_seconds_count", &cap, l.count as f64);
    }
    debug_assert_eq!(ops::BUCKETS, 19);

    o.head(
        "archive_lost_total",
        "counter",
        "Entries the store trimmed before the archive had them, by source, this process.",
    );
    for (source, n) in super::archive::lost() {
        o.sample("archive_lost_total", &[("source", source)], n as f64);
    }

    o.gauge(
        "store_rtt_seconds",
        "Round trip to the store (a ping; SELECT 1 on the embedded store).",
        st.rtt_ms / 1e3,
    );

    o.head(
        "jobs",
        "gauge",
        "Jobs by kind and state (ready, delayed, running, succeeded, dead, cancelled).",
    );
    for c in &st.jobs {
        o.sample(
            "jobs",
            &[("kind", &c.kind), ("state", &c.state)],
            c.count as f64,
        );
    }
    o.gauge(
        "jobs_dead",
        "Dead jobs (out of attempts) over every kind.",
        st.dead_jobs() as f64,
    );

    o.head(
        "bus_pending",
        "gauge",
        "Bus deliveries waiting for an ack, by agent.",
    );
    for (a, n) in &st.bus.per_agent {
        o.sample("bus_pending", &[("agent", a)], *n as f64);
    }
    o.gauge(
        "bus_dead_letters",
        "Bus dead letters held.",
        st.bus.dead as f64,
    );
    o.head(
        "bus_messages_total",
        "counter",
        "Bus messages shared since the namespace was last cleared.",
    );
    o.sample("bus_messages_total", &[], st.bus.total as f64);
    o.head(
        "bus_acknowledged_total",
        "counter",
        "Bus acks recorded since the namespace was last cleared.",
    );
    o.sample("bus_acknowledged_total", &[], st.bus.acknowledged as f64);

    o.gauge(
        "events_log_length",
        "Events the durable event log holds.",
        st.events_count as f64,
    );

    o.head(
        "cache_hits_total",
        "counter",
        "Cache reads that found a live entry.",
    );
    o.sample("cache_hits_total", &[], st.cache.hits as f64);
    o.head(
        "cache_misses_total",
        "counter",
        "Cache reads that found none.",
    );
    o.sample("cache_misses_total", &[], st.cache.misses as f64);
    if let Some(r) = st.cache_hit_ratio() {
        o.gauge("cache_hit_ratio", "Cache hits over reads.", r);
    }
    o.gauge(
        "cache_entries",
        "Cache entries stored.",
        st.cache.entries as f64,
    );

    o.gauge(
        "sync_running",
        "1 while this hub runs a file sync, else 0.",
        if st.sync.as_ref().is_some_and(|x| x.running) {
            1.0
        } else {
            0.0
        },
    );
    o.gauge(
        "sync_pending_writebacks",
        "Documents changed in the store and not yet written to their files.",
        st.writeback.pending as f64,
    );
    o.gauge(
        "sync_lag_seconds",
        "How long the oldest pending write-back has waited (0 when none waits).",
        st.sync_lag_ms().unwrap_or(0.0) / 1e3,
    );
    if let Some(x) = &st.sync {
        o.head(
            "sync_conflicts_total",
            "counter",
            "Documents changed on both sides differently, since the sync started.",
        );
        o.sample("sync_conflicts_total", &[], x.conflicts as f64);
        o.head(
            "sync_errors_total",
            "counter",
            "Files refused or writes that failed, since the sync started.",
        );
        o.sample("sync_errors_total", &[], x.errors as f64);
    }
    o.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_label_values() {
        assert_eq!(
            esc(r#"a"b\c
d"#),
            r#"a\"b\\c\nd"#
        );
    }

    #[test]
    fn numbers_have_no_exponent() {
        assert_eq!(num(0.00005), "0.00005");
        assert_eq!(num(13.1072), "13.1072");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(f64::INFINITY), "+Inf");
    }
}
