//! Trending boards on both engines (see `crate::testkit`).

use super::*;
use crate::hub::Hub;
use crate::testkit::both;

const MIN: i64 = 60_000;

both!(plain_boards_rank_and_stay_bounded);
fn plain_boards_rank_and_stay_bounded(h: &Hub) -> Result<()> {
    let t = &h.trending;
    t.define(
        "b",
        Board {
            max_items: 3,
            ..Board::default()
        },
    )
    .wait()?;
    for (i, item) in ["a", "b", "c", "d"].iter().enumerate() {
        t.bump("b", item, (i + 1) as f64, 0).wait()?;
    }
    let top = t.top("b", 10, 0).wait()?;
    assert_eq!(
        top,
        vec![("d".into(), 4.0), ("c".into(), 3.0), ("b".into(), 2.0)]
    );
    assert_eq!(t.rank("b", "c", 0).wait()?, Some((2, 3.0)));
    assert_eq!(t.rank("b", "a", 0).wait()?, None);
    Ok(())
}

both!(decayed_scores_halve_every_half_life);
fn decayed_scores_halve_every_half_life(h: &Hub) -> Result<()> {
    let t = &h.trending;
    let hl = 10 * MIN;
    t.define(
        "d",
        Board {
            half_life_ms: hl,
            ..Board::default()
        },
    )
    .wait()?;
    t.bump("d", "old", 8.0, 0).wait()?;
    t.bump("d", "new", 5.0, 2 * hl).wait()?;
    let top = t.top("d", 2, 2 * hl).wait()?;
    assert_eq!(top[0].0, "new");
    assert!(
        (top[0].1 - 5.0).abs() < 1e-9 && (top[1].1 - 2.0).abs() < 1e-9,
        "{top:?}"
    );
    // Far later: the board rescales and keeps its order.
    t.bump("d", "new", 1.0, 100 * hl).wait()?;
    let top = t.top("d", 2, 100 * hl).wait()?;
    assert_eq!(top[0].0, "new");
    Ok(())
}

both!(windowed_boards_forget_old_bumps);
fn windowed_boards_forget_old_bumps(h: &Hub) -> Result<()> {
    let t = &h.trending;
    let w = 60 * MIN;
    t.define(
        "w",
        Board {
            window_ms: w,
            ..Board::default()
        },
    )
    .wait()?;
    t.bump("w", "x", 1.0, 0).wait()?;
    t.bump("w", "y", 2.0, 30 * MIN).wait()?;
    assert_eq!(t.top("w", 5, 59 * MIN).wait()?.len(), 2);
    let top = t.top("w", 5, 61 * MIN).wait()?;
    assert_eq!(top, vec![("y".into(), 2.0)]);
    assert_eq!(t.bump("w", "x", 1.0, 0).wait()?, None);
    assert!(t.top("w", 5, 200 * MIN).wait()?.is_empty());
    Ok(())
}
