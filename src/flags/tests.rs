//! Feature flags on both engines (see `crate::testkit`).

use super::*;
use crate::hub::Hub;
use crate::testkit::both;

both!(switch_then_user_then_rollout);
fn switch_then_user_then_rollout(h: &Hub) -> Result<()> {
    let f = &h.flags;
    let users: Vec<String> = (0..2000).map(|i| format!("user:{i}")).collect();
    assert!(f.set("beta", "user:1", Setting::On).wait()?);
    assert!(!f.set("beta", "user:1", Setting::On).wait()?);
    assert!(f.set("beta", "user:2", Setting::Off).wait()?);
    let on = f.enabled_many("beta", users.clone()).wait()?;
    assert_eq!(on.iter().filter(|x| **x).count(), 1);
    f.rollout("beta", 2500).wait()?;
    let on = f.enabled_many("beta", users.clone()).wait()?;
    for (i, u) in users.iter().enumerate() {
        let want = match i {
            1 => true,
            2 => false,
            _ => bucket("beta", u) < 2500,
        };
        assert_eq!(on[i], want, "{u}");
    }
    let n = on.iter().filter(|x| **x).count();
    assert!((400..600).contains(&n), "{n}");
    f.set_global("beta", Some(false)).wait()?;
    assert!(!f
        .enabled_many("beta", users.clone())
        .wait()?
        .contains(&true));
    f.set_global("beta", Some(true)).wait()?;
    assert!(!f
        .enabled_many("beta", users.clone())
        .wait()?
        .contains(&false));
    f.set_global("beta", None).wait()?;
    assert!(f.set("beta", "user:2", Setting::Unset).wait()?);
    assert_eq!(
        f.state("beta").wait()?,
        FlagState {
            global: None,
            rollout: 2500,
            enabled: 1,
            disabled: 0
        }
    );
    assert!(f.delete("beta").wait()?);
    assert_eq!(f.state("beta").wait()?, FlagState::default());
    assert!(!f.delete("beta").wait()?);
    Ok(())
}

#[test]
fn the_bucket_is_the_documented_hash() {
    // sha256(b"beta\0user:1")[:8] as a big-endian integer, mod 10,000 (computed in Python).
    let d = Sha256::digest(b"beta\0user:1");
    let want = u64::from_be_bytes(d[..8].try_into().unwrap_or_default()) % 10_000;
    assert_eq!(bucket("beta", "user:1"), want);
    assert!(percent_buckets(100.1).is_err());
    assert!(percent_buckets(-0.1).is_err());
    assert_eq!(percent_buckets(12.345).ok(), Some(1235));
}
