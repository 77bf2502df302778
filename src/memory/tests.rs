//! The retrieval core against straightforward references.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::bm25::{tokenize, Bm25Index, Bm25Params};
use super::fusion::{fuse, Fusion, SignalScore};
use super::kernels::Kernels;
use super::vector::{Metric, VectorSpace};
use super::Hit;
use crate::error::Error;

// ---------------------------------------------------------------- vectors

/// Brute force in f64: every (id, score) under the metric, best first.
fn reference(rows: &[(u64, Vec<f32>)], q: &[f32], metric: Metric) -> Vec<(u64, f64)> {
    let norm = |v: &[f32]| v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    let qn = if metric == Metric::Cosine {
        norm(q)
    } else {
        1.0
    };
    let mut all: Vec<(u64, f64)> = rows
        .iter()
        .map(|(id, v)| {
            let d: f64 = v
                .iter()
                .zip(q)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum();
            let vn = if metric == Metric::Cosine {
                norm(v)
            } else {
                1.0
            };
            (*id, d / (vn * qn))
        })
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all
}

/// Our top-k equals the reference's, ties aside: same length, scores equal position by
/// position within `tol`, and every returned id truly scores that high.
fn assert_topk(got: &[Hit], want: &[(u64, f64)], k: usize, tol: f64) {
    let want_k = &want[..k.min(want.len())];
    assert_eq!(got.len(), want_k.len(), "got {got:?}, want {want_k:?}");
    let truth: HashMap<u64, f64> = want.iter().copied().collect();
    let mut seen = HashSet::new();
    for (g, w) in got.iter().zip(want_k) {
        assert!(seen.insert(g.id), "id {} twice in {got:?}", g.id);
        assert!(
            (f64::from(g.score) - w.1).abs() <= tol,
            "got {got:?}, want {want_k:?}"
        );
        assert!(
            (truth[&g.id] - w.1).abs() <= tol,
            "id {} is not in the top-k",
            g.id
        );
    }
}

fn random_rows(rng: &mut StdRng, n: usize, dim: usize) -> Vec<(u64, Vec<f32>)> {
    (0..n)
        .map(|i| {
            let v: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            (i as u64 * 7 + 3, v)
        })
        .collect()
}

fn space_of(rows: &[(u64, Vec<f32>)], dim: usize, metric: Metric, quantized: bool) -> VectorSpace {
    let mut s = VectorSpace::new(dim, metric, quantized).expect("a valid space");
    let ids: Vec<u64> = rows.iter().map(|r| r.0).collect();
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.1.iter().copied()).collect();
    s.add_many(&ids, &flat).expect("valid rows");
    s
}

fn metric_strategy() -> impl Strategy<Value = Metric> {
    prop_oneof![Just(Metric::Cosine), Just(Metric::Dot)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Exact top-k equals brute force, after random adds, replacements and removals.
    #[test]
    fn exact_topk_equals_brute_force(
        dim in 1usize..40,
        metric in metric_strategy(),
        seed in any::<u64>(),
        n in 0usize..150,
        k in 0usize..15,
        removals in proptest::collection::vec(any::<prop::sample::Index>(), 0..30),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut rows = random_rows(&mut rng, n, dim);
        let mut s = space_of(&rows, dim, metric, false);
        for r in removals {
            if rows.is_empty() {
                break;
            }
            let (id, _) = rows.swap_remove(r.index(rows.len()));
            prop_assert!(s.remove(id));
            prop_assert!(!s.remove(id));
        }
        if let Some(first) = rows.first_mut() {
            first.1 = (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            s.add(first.0, &first.1).expect("a valid row");
        }
        prop_assert_eq!(s.len(), rows.len());
        let q: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let got = s.search_exact(&q, k).expect("a valid query");
        assert_topk(&got, &reference(&rows, &q, metric), k, 1e-4);
    }
}

/// The kernels (SIMD where the CPU has it) against plain sums: int8 exactly, including codes
/// at +-127 everywhere (the largest pair sums), `f32` within rounding, over dimensions around
/// the SIMD widths and row counts around the four-row groups.
#[test]
fn kernels_equal_plain_sums() {
    let kern = Kernels::detect();
    let mut rng = StdRng::seed_from_u64(61);
    for dim in [1, 5, 8, 15, 31, 32, 33, 64, 100, 384, 1000] {
        for n in 0..=9 {
            for extreme in [false, true] {
                let code = |rng: &mut StdRng| -> i8 {
                    if extreme {
                        if rng.random_bool(0.5) {
                            127
                        } else {
                            -127
                        }
                    } else {
                        rng.random_range(-127..=127)
                    }
                };
                let q: Vec<i8> = (0..dim).map(|_| code(&mut rng)).collect();
                let codes: Vec<i8> = (0..dim * n).map(|_| code(&mut rng)).collect();
                let mut got = vec![0i32; n];
                kern.dots_i8(&q, &codes, &mut got);
                let want: Vec<i32> = codes
                    .chunks_exact(dim)
                    .map(|r| {
                        r.iter()
                            .zip(&q)
                            .map(|(&a, &b)| i32::from(a) * i32::from(b))
                            .sum()
                    })
                    .collect();
                assert_eq!(got, want, "int8, dim {dim}, {n} rows");
            }
            let q: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
            let rows: Vec<f32> = (0..dim * n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let mut got = vec![0f32; n];
            kern.dots_f32(&q, &rows, &mut got);
            for (r, row) in rows.chunks_exact(dim).enumerate() {
                let want: f64 = row
                    .iter()
                    .zip(&q)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum();
                assert!(
                    (f64::from(got[r]) - want).abs() < 1e-4 * (dim as f64).sqrt(),
                    "f32, dim {dim}, row {r} of {n}: {} against {want}",
                    got[r]
                );
                assert_eq!(kern.dot_f32(&q, row), got[r], "one row against the block");
            }
        }
    }
}

#[test]
fn exact_topk_on_many_rows_splits_the_scan_and_stays_exact() {
    let mut rng = StdRng::seed_from_u64(11);
    let rows = random_rows(&mut rng, 40_000, 8);
    let s = space_of(&rows, 8, Metric::Dot, false);
    for _ in 0..3 {
        let q: Vec<f32> = (0..8).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let got = s.search_exact(&q, 10).expect("a valid query");
        assert_topk(&got, &reference(&rows, &q, Metric::Dot), 10, 1e-4);
    }
}

/// Random 384-d data is the hard case for int8 (the top scores are close together).
#[test]
fn quantised_recall_at_10_is_at_least_095() {
    let dim = 384;
    let mut rng = StdRng::seed_from_u64(384);
    let rows = random_rows(&mut rng, 6_000, dim);
    for metric in [Metric::Cosine, Metric::Dot] {
        let s = space_of(&rows, dim, metric, true);
        let (mut found, mut wanted) = (0usize, 0usize);
        for _ in 0..10 {
            let q: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            let exact: HashSet<u64> = s
                .search_exact(&q, 10)
                .expect("a query")
                .iter()
                .map(|h| h.id)
                .collect();
            let approx = s.search(&q, 10).expect("a query");
            assert_eq!(approx.len(), 10);
            // Re-ranked scores are the exact ones.
            for h in &approx {
                let row = s.get(h.id).expect("a stored row");
                let qn = match metric {
                    Metric::Cosine => q.iter().map(|x| x * x).sum::<f32>().sqrt(),
                    Metric::Dot => 1.0,
                };
                let d: f32 = row.iter().zip(&q).map(|(a, b)| a * b).sum::<f32>() / qn;
                assert!((d - h.score).abs() < 1e-3);
            }
            found += approx.iter().filter(|h| exact.contains(&h.id)).count();
            wanted += exact.len();
        }
        let recall = found as f64 / wanted as f64;
        eprintln!("{metric:?}: recall@10 {recall}");
        assert!(recall >= 0.95, "{metric:?}: recall@10 {recall}");
    }
}

#[test]
fn quantised_search_with_enough_rerank_is_exact_on_small_spaces() {
    let mut rng = StdRng::seed_from_u64(5);
    let rows = random_rows(&mut rng, 300, 16);
    let s = space_of(&rows, 16, Metric::Cosine, true);
    let q: Vec<f32> = (0..16).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    // k * rerank covers every row, so re-ranking sees them all.
    let got = s.search_quantized(&q, 5, 60).expect("a query");
    assert_topk(&got, &reference(&rows, &q, Metric::Cosine), 5, 1e-4);
}

#[test]
fn filtered_search_keeps_only_accepted_ids() {
    let mut rng = StdRng::seed_from_u64(9);
    let rows = random_rows(&mut rng, 500, 12);
    let even: Vec<(u64, Vec<f32>)> = rows.iter().filter(|r| r.0 % 2 == 0).cloned().collect();
    for quantized in [false, true] {
        let s = space_of(&rows, 12, Metric::Dot, quantized);
        let q: Vec<f32> = (0..12).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let got = s.search_where(&q, 7, &|id| id % 2 == 0).expect("a query");
        assert!(got.iter().all(|h| h.id % 2 == 0));
        if !quantized {
            assert_topk(&got, &reference(&even, &q, Metric::Dot), 7, 1e-4);
        }
    }
}

/// Filters that accept every row, half, one in 50 (fewer than the candidates: the second,
/// filtered scan) and none: exact search equals brute force over the accepted rows, and so
/// does a quantised one whose re-rank covers every row; both cores split the larger space.
#[test]
fn filtered_search_equals_brute_force_over_the_accepted_rows() {
    let mut rng = StdRng::seed_from_u64(19);
    for n in [500, 40_000] {
        let rows = random_rows(&mut rng, n, 16);
        for m in [1u64, 2, 50, 1_000_000] {
            let kept: Vec<(u64, Vec<f32>)> =
                rows.iter().filter(|r| r.0 % m == 0).cloned().collect();
            let want_exact = space_of(&rows, 16, Metric::Cosine, false);
            let mut quant = space_of(&rows, 16, Metric::Cosine, true);
            quant.set_rerank(n).expect("a factor");
            let q: Vec<f32> = (0..16).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            let want = reference(&kept, &q, Metric::Cosine);
            for s in [&want_exact, &quant] {
                let got = s.search_where(&q, 10, &|id| id % m == 0).expect("a query");
                assert_eq!(got.len(), kept.len().min(10), "{n} rows, 1 in {m}");
                assert_topk(&got, &want, 10, 1e-4);
            }
            // The default re-rank: fewer candidates than rows, so a rare filter takes the
            // second scan; every hit is accepted and none is missing for want of candidates.
            let quant = space_of(&rows, 16, Metric::Cosine, true);
            let got = quant
                .search_where(&q, 10, &|id| id % m == 0)
                .expect("a query");
            assert_eq!(
                got.len(),
                kept.len().min(10),
                "{n} rows, 1 in {m}, default re-rank"
            );
            assert!(got.iter().all(|h| h.id % m == 0));
        }
    }
}

#[test]
fn bad_vectors_are_validation_errors() {
    let mut s = VectorSpace::new(3, Metric::Cosine, true).expect("a space");
    let bad: [&[f32]; 5] = [
        &[1.0, 2.0],
        &[1.0, 2.0, 3.0, 4.0],
        &[1.0, f32::NAN, 0.0],
        &[f32::INFINITY, 0.0, 0.0],
        &[0.0, 0.0, 0.0],
    ];
    for v in bad {
        assert!(matches!(s.add(1, v), Err(Error::Validation(_))), "{v:?}");
        assert!(matches!(s.search(v, 3), Err(Error::Validation(_))), "{v:?}");
    }
    assert!(s.is_empty());
    // All or none: one bad row stores nothing.
    let m = [1.0, 0.0, 0.0, 0.0, f32::NEG_INFINITY, 1.0];
    assert!(matches!(s.add_many(&[1, 2], &m), Err(Error::Validation(_))));
    assert!(matches!(
        s.add_many(&[1, 2], &m[..5]),
        Err(Error::Validation(_))
    ));
    assert!(s.is_empty());
    for dim in [0, super::vector::MAX_DIM + 1] {
        assert!(matches!(
            VectorSpace::new(dim, Metric::Dot, false),
            Err(Error::Validation(_))
        ));
    }
    assert!(matches!(Metric::parse("l2"), Err(Error::Validation(_))));
    // Under dot a zero vector is fine.
    let mut d = VectorSpace::new(3, Metric::Dot, true).expect("a space");
    d.add(1, &[0.0, 0.0, 0.0]).expect("a zero row");
    assert_eq!(
        d.search(&[1.0, 1.0, 1.0], 1).expect("a query")[0].score,
        0.0
    );
}

#[test]
fn cosine_rows_are_stored_normalised() {
    let mut s = VectorSpace::new(2, Metric::Cosine, false).expect("a space");
    s.add(4, &[3.0, 4.0]).expect("a row");
    assert_eq!(s.get(4), Some(&[0.6f32, 0.8][..]));
    let hit = s.search(&[30.0, 40.0], 1).expect("a query")[0];
    assert_eq!(hit.id, 4);
    assert!((hit.score - 1.0).abs() < 1e-6);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Adds, replacements and removals in any order leave the same space as adding the
    /// survivors from scratch: same rows, same codes (so the same quantised results).
    #[test]
    fn incremental_vector_space_equals_rebuilt(
        ops in proptest::collection::vec((0u64..20, any::<bool>(), any::<u64>()), 0..60),
    ) {
        let dim = 6;
        let mut s = VectorSpace::new(dim, Metric::Cosine, true).expect("a space");
        let mut live: HashMap<u64, Vec<f32>> = HashMap::new();
        for (id, add, seed) in ops {
            if add {
                let mut rng = StdRng::seed_from_u64(seed);
                let v: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect();
                s.add(id, &v).expect("a row");
                live.insert(id, v);
            } else {
                prop_assert_eq!(s.remove(id), live.remove(&id).is_some());
            }
        }
        let mut rows: Vec<(u64, Vec<f32>)> = live.into_iter().collect();
        rows.sort_by_key(|r| r.0);
        let fresh = space_of(&rows, dim, Metric::Cosine, true);
        prop_assert_eq!(s.len(), fresh.len());
        for (id, _) in &rows {
            prop_assert_eq!(s.get(*id), fresh.get(*id));
        }
        let q = [0.3f32, -0.2, 0.9, 0.1, -0.5, 0.4];
        for k in [1, 5, 25] {
            prop_assert_eq!(s.search(&q, k).expect("a query"), fresh.search(&q, k).expect("a query"));
            prop_assert_eq!(
                s.search_exact(&q, k).expect("a query"),
                fresh.search_exact(&q, k).expect("a query")
            );
        }
    }
}

// ---------------------------------------------------------------- BM25

#[test]
fn tokenizer_lowercases_unicode_words_and_drops_stop_words() {
    assert_eq!(
        tokenize("The Café in Zürich, is it OPEN? naïve_user42 — ÉCOLE"),
        ["café", "zürich", "open", "naïve_user42", "école"]
    );
    assert_eq!(tokenize("東京 タワー"), ["東京", "タワー"]);
    assert!(tokenize("  the, a. AN!").is_empty());
}

const CORPUS: &[&str] = &[
    "Alice lives in Paris and works on graph databases",
    "Bob moved from Paris to Berlin last spring",
    "The cat sat on the mat; the cat slept",
    "Graph retrieval with keyword and vector signals",
    "Paris Paris Paris: a long note about the city of Paris and its many museums and cafes",
    "vector search over float32 rows with int8 quantisation",
    "",
    "Berlin",
];

/// BM25 written the obvious way: loop over the documents and their tokens.
fn reference_bm25(docs: &[(u64, &str)], query: &str, p: Bm25Params) -> Vec<(u64, f64)> {
    let toks: Vec<(u64, Vec<String>)> = docs.iter().map(|(id, t)| (*id, tokenize(t))).collect();
    let n = toks.len() as f64;
    let avg = toks.iter().map(|t| t.1.len()).sum::<usize>() as f64 / n;
    let mut out = Vec::new();
    for (id, dt) in &toks {
        let mut s = 0.0;
        let mut matched = false;
        for q in tokenize(query) {
            let tf = dt.iter().filter(|t| **t == q).count() as f64;
            if tf == 0.0 {
                continue;
            }
            matched = true;
            let df = toks.iter().filter(|t| t.1.contains(&q)).count() as f64;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            s += idf * tf * (p.k1 + 1.0) / (tf + p.k1 * (1.0 - p.b + p.b * dt.len() as f64 / avg));
        }
        if matched {
            out.push((*id, s));
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[test]
fn bm25_equals_the_reference() {
    let docs: Vec<(u64, &str)> = CORPUS
        .iter()
        .enumerate()
        .map(|(i, t)| (i as u64 + 100, *t))
        .collect();
    for p in [
        Bm25Params::default(),
        Bm25Params::new(2.0, 0.3).expect("valid"),
    ] {
        let mut idx = Bm25Index::new(p);
        for (id, t) in &docs {
            idx.add(*id, t);
        }
        for q in [
            "paris",
            "Paris Berlin",
            "graph vector",
            "cat cat mat",
            "museums",
            "nothing here",
            "the",
        ] {
            let want = reference_bm25(&docs, q, p);
            for k in [1, 3, 10] {
                let got = idx.search(q, k);
                assert_topk(&got, &want, k, 1e-5);
            }
        }
    }
    // Spot check one score by hand: "berlin" in doc 107 (one token) of 8 docs, df 2.
    let idx = {
        let mut i = Bm25Index::new(Bm25Params::default());
        for (id, t) in &docs {
            i.add(*id, t);
        }
        i
    };
    let total: usize = CORPUS.iter().map(|t| tokenize(t).len()).sum();
    let avg = total as f64 / 8.0;
    let idf = (1.0 + (8.0 - 2.0 + 0.5) / 2.5f64).ln();
    let want = idf * 2.2 / (1.0 + 1.2 * (0.25 + 0.75 / avg));
    let hit = idx.search("berlin", 1)[0];
    assert_eq!(hit.id, 107);
    assert!((f64::from(hit.score) - want).abs() < 1e-5);
}

#[test]
fn bm25_params_are_checked() {
    assert!(matches!(
        Bm25Params::new(-1.0, 0.5),
        Err(Error::Validation(_))
    ));
    assert!(matches!(
        Bm25Params::new(f64::NAN, 0.5),
        Err(Error::Validation(_))
    ));
    assert!(matches!(
        Bm25Params::new(1.2, 1.5),
        Err(Error::Validation(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random adds, replacements and removals leave the same postings, lengths and rankings as
    /// indexing the surviving documents from scratch.
    #[test]
    fn incremental_bm25_equals_rebuilt(
        ops in proptest::collection::vec((0u64..12, proptest::option::of(0usize..8)), 0..50),
    ) {
        let mut idx = Bm25Index::new(Bm25Params::default());
        let mut live: HashMap<u64, &str> = HashMap::new();
        for (id, text) in ops {
            match text {
                Some(t) => {
                    idx.add(id, CORPUS[t]);
                    live.insert(id, CORPUS[t]);
                }
                None => prop_assert_eq!(idx.remove(id), live.remove(&id).is_some()),
            }
        }
        let mut fresh = Bm25Index::new(Bm25Params::default());
        for (id, t) in &live {
            fresh.add(*id, t);
        }
        prop_assert_eq!(idx.lengths(), fresh.lengths());
        prop_assert_eq!(idx.term_count(), fresh.term_count());
        for t in ["paris", "cat", "berlin", "graph", "vector", "museums"] {
            prop_assert_eq!(idx.postings(t), fresh.postings(t));
        }
        for q in ["paris berlin", "cat", "graph vector search"] {
            prop_assert_eq!(idx.search(q, 5), fresh.search(q, 5));
        }
    }
}

// ---------------------------------------------------------------- fusion

fn hits(list: &[(u64, f32)]) -> Vec<Hit> {
    list.iter().map(|&(id, score)| Hit { id, score }).collect()
}

#[test]
fn rrf_by_hand() {
    let a = hits(&[(1, 0.9), (2, 0.8), (3, 0.7)]);
    let b = hits(&[(3, 12.0), (1, 5.0)]);
    let got = fuse(&[&a, &b], Fusion::default(), None, 10).expect("fused");
    let ids: Vec<u64> = got.iter().map(|h| h.id).collect();
    assert_eq!(ids, [1, 3, 2]);
    // 1: 1/61 + 1/62; 3: 1/63 + 1/61; 2: 1/62.
    let want = [1.0 / 61.0 + 1.0 / 62.0, 1.0 / 63.0 + 1.0 / 61.0, 1.0 / 62.0];
    for (h, w) in got.iter().zip(want) {
        assert!((h.score - w).abs() < 1e-12);
    }
    assert_eq!(
        got[1].signals,
        [
            Some(SignalScore {
                score: 0.7,
                rank: 3
            }),
            Some(SignalScore {
                score: 12.0,
                rank: 1
            })
        ]
    );
    assert_eq!(
        got[2].signals,
        [
            Some(SignalScore {
                score: 0.8,
                rank: 2
            }),
            None
        ]
    );
    // A limit keeps the best; weights scale each list's share.
    let top = fuse(&[&a, &b], Fusion::Rrf { k: 0.0 }, Some(&[1.0, 3.0]), 1).expect("fused");
    // k = 0: 1: 1/1 + 3/2 = 2.5; 3: 1/3 + 3/1 = 3.33...
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].id, 3);
    assert!((top[0].score - (1.0 / 3.0 + 3.0)).abs() < 1e-12);
}

#[test]
fn weighted_sum_by_hand() {
    let a = hits(&[(1, 0.9), (2, 0.8), (3, 0.7)]);
    let b = hits(&[(3, 12.0), (1, 5.0)]);
    let got = fuse(&[&a, &b], Fusion::Weighted, Some(&[0.5, 2.0]), 10).expect("fused");
    // a normalised: 1 -> 1, 2 -> 0.5, 3 -> 0; b normalised: 3 -> 1, 1 -> 0.
    // 3: 0 + 2 = 2; 1: 0.5 + 0 = 0.5; 2: 0.25.
    let ids: Vec<u64> = got.iter().map(|h| h.id).collect();
    assert_eq!(ids, [3, 1, 2]);
    for (h, w) in got.iter().zip([2.0, 0.5, 0.25]) {
        assert!((h.score - w).abs() < 1e-6, "{got:?}");
    }
    // A list whose scores are all equal gives each of its hits 1.
    let flat = hits(&[(8, 0.4), (9, 0.4)]);
    let got = fuse(&[&flat], Fusion::Weighted, None, 10).expect("fused");
    assert_eq!(
        got.iter().map(|h| (h.id, h.score)).collect::<Vec<_>>(),
        [(8, 1.0), (9, 1.0)]
    );
}

#[test]
fn fusion_ties_go_to_the_lower_id_and_bad_weights_are_refused() {
    let a = hits(&[(5, 1.0)]);
    let b = hits(&[(2, 1.0)]);
    let got = fuse(&[&a, &b], Fusion::default(), None, 10).expect("fused");
    assert_eq!(got.iter().map(|h| h.id).collect::<Vec<_>>(), [2, 5]);
    assert!(fuse(&[], Fusion::default(), None, 10)
        .expect("fused")
        .is_empty());
    for w in [&[1.0][..], &[1.0, -1.0], &[1.0, f64::NAN]] {
        assert!(matches!(
            fuse(&[&a, &b], Fusion::Weighted, Some(w), 10),
            Err(Error::Validation(_))
        ));
    }
    assert!(matches!(
        fuse(&[&a], Fusion::Rrf { k: -1.0 }, None, 10),
        Err(Error::Validation(_))
    ));
    assert!(matches!(Fusion::parse("max"), Err(Error::Validation(_))));
}

// ---------------------------------------------------------------- top-k

proptest! {
    /// The bounded list keeps exactly the best `cap` of whatever it is offered, in order.
    #[test]
    fn topk_keeps_the_best(
        scores in proptest::collection::vec(-4i8..4, 0..200),
        cap in 0usize..40,
    ) {
        let offered: Vec<Hit> = scores
            .iter()
            .enumerate()
            .map(|(i, &s)| Hit { id: (i as u64 * 37) % 211, score: f32::from(s) })
            .collect();
        let mut top = super::topk::TopK::new(cap);
        for h in &offered {
            top.push(*h);
        }
        let mut want = offered.clone();
        super::topk::sort_hits(&mut want);
        want.truncate(cap);
        prop_assert_eq!(top.into_vec(), want);
    }
}
