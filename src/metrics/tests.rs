//! The store gauges on both engines.

use serde_json::json;

use crate::hub::Hub;
use crate::jobs::NewJob;
use crate::testkit::both;

both!(gauges_follow_the_store);
fn gauges_follow_the_store(h: &Hub) {
    for i in 0..3 {
        h.jobs
            .enqueue(NewJob::new("a", json!(i)))
            .wait()
            .expect("job");
    }
    h.events
        .publish("orders.new", json!({"n": 1}))
        .wait()
        .expect("event");
    let s = super::snapshot(h).wait().expect("snapshot");
    assert_eq!(s.store.jobs.len(), 1);
    assert_eq!(s.store.jobs[0].count, 3);
    assert_eq!(s.store.events_count, 1);
    assert_ne!(s.store.events_last_id, "0-0");
    assert!(s.store.sync.is_none());
    let text = super::render(&s);
    assert!(
        text.contains("zerolag_jobs{kind=\"a\",state=\"ready\"} 3\n"),
        "{text}"
    );
    assert!(text.contains("zerolag_events_log_length 1\n"), "{text}");
    let j = super::to_json(&s);
    assert_eq!(j["events"]["count"], json!(1));
    assert_eq!(j["jobs"]["counts"][0]["count"], json!(3));
}
