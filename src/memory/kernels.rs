//! The scan kernels of the vector spaces: a query's dot product with a block of rows, in `f32`
//! and in int8, written to a buffer (the caller turns them into scores and keeps the best).
//!
//! - On x86-64 with AVX2 and FMA (found at run time through `pulp`'s safe intrinsics):
//!   - `f32`: one row at a time, two fused multiply-adds in flight (2 accumulators of 8 lanes).
//!     The scan is bound by memory bandwidth, and one sequential stream reads faster than four
//!     interleaved ones (measured against the four-row form: 6.3–7.2 ms against 8.2–10.4 ms
//!     p50 for 100,000 x 384 rows on the 2-core VM; numpy 7.0–8.9 ms in the same runs);
//!   - int8 (compute-bound): four rows scanned together, each query chunk loaded once for the
//!     four, their four sums reduced together at the end of the rows; `vpsignb` moves the query's sign onto the row's codes, `vpmaddubsw` multiplies
//!     |query| (u8) by them into pairs of i16 and `vpmaddwd` with ones widens the pairs into i32
//!     lanes. A pair is at most 2 x 127 x 127 = 32,258, so the i16 step cannot saturate as long
//!     as no code is -128 (the quantiser writes -127..=127).
//! - Elsewhere (another CPU, or x86-64 without AVX2) plain loops in many independent lanes,
//!   which the compiler vectorises for the target's baseline (NEON on aarch64, SSE2 on x86-64).
//!
//! The results do not depend on the path beyond `f32` rounding (the int8 sums are exact).

/// The SIMD level found on this CPU, detected once per scan.
#[derive(Clone, Copy)]
pub(crate) struct Kernels {
    #[cfg(target_arch = "x86_64")]
    v3: Option<pulp::x86::V3>,
}

impl Kernels {
    #[inline]
    pub(crate) fn detect() -> Self {
        Kernels {
            #[cfg(target_arch = "x86_64")]
            v3: pulp::x86::V3::try_new(),
        }
    }

    /// `out[r]` = dot(`q`, row `r` of `rows`), `rows` holding `out.len()` rows of `q.len()`.
    #[inline]
    pub(crate) fn dots_f32(self, q: &[f32], rows: &[f32], out: &mut [f32]) {
        debug_assert_eq!(rows.len(), q.len() * out.len());
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = self.v3 {
            return simd.vectorize(|| {
                for (o, row) in out.iter_mut().zip(rows.chunks_exact(q.len())) {
                    *o = x86::dot_f32(simd, q, row);
                }
            });
        }
        for (o, row) in out.iter_mut().zip(rows.chunks_exact(q.len())) {
            *o = dot_f32(q, row);
        }
    }

    /// `out[r]` = dot(`q`, row `r` of `codes`), exact in i32 (no code may be -128).
    #[inline]
    pub(crate) fn dots_i8(self, q: &[i8], codes: &[i8], out: &mut [i32]) {
        debug_assert_eq!(codes.len(), q.len() * out.len());
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = self.v3 {
            return simd.vectorize(|| x86::dots_i8(simd, q, codes, out));
        }
        for (o, row) in out.iter_mut().zip(codes.chunks_exact(q.len())) {
            *o = dot_i8(q, row);
        }
    }

    /// One dot product (the exact re-rank of the quantised search), summed in the order
    /// [`dots_f32`](Self::dots_f32) sums a row in: the same result to the bit.
    #[inline]
    pub(crate) fn dot_f32(self, a: &[f32], b: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = self.v3 {
            return simd.vectorize(|| x86::dot_f32(simd, a, b));
        }
        dot_f32(a, b)
    }
}

/// The dot product with 16 independent lanes, so that the compiler vectorises it for the
/// target's baseline (plain multiply and add: `mul_add` would call a slow software routine
/// on a CPU without FMA).
#[inline(always)]
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    const L: usize = 16;
    let mut acc = [0f32; L];
    let ac = a.chunks_exact(L);
    let bc = b.chunks_exact(L);
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for i in 0..L {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0f32;
    for (x, y) in ar.iter().zip(br) {
        tail += x * y;
    }
    let mut half = [0f32; L / 2];
    for i in 0..L / 2 {
        half[i] = acc[i] + acc[i + L / 2];
    }
    half.iter().sum::<f32>() + tail
}

/// The int8 dot product in 32 independent i32 lanes (no overflow below 133,000 dimensions).
#[inline(always)]
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    const L: usize = 32;
    let mut acc = [0i32; L];
    let ac = a.chunks_exact(L);
    let bc = b.chunks_exact(L);
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for i in 0..L {
            acc[i] += i32::from(x[i]) * i32::from(y[i]);
        }
    }
    let mut tail = 0i32;
    for (x, y) in ar.iter().zip(br) {
        tail += i32::from(*x) * i32::from(*y);
    }
    acc.iter().sum::<i32>() + tail
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{__m128, __m128i, __m256, __m256i};

    use pulp::bytemuck::cast;
    use pulp::x86::V3;

    /// Rows scanned together.
    const R: usize = 4;

    #[inline(always)]
    fn load_ps(simd: V3, c: &[f32; 8]) -> __m256 {
        let _ = simd;
        cast(*c)
    }

    #[inline(always)]
    fn load_si(simd: V3, c: &[i8; 32]) -> __m256i {
        let _ = simd;
        cast(*c)
    }

    /// The four sums of `a[0..4]`'s lanes.
    #[inline(always)]
    fn hsum4_ps(simd: V3, a: [__m256; R]) -> [f32; R] {
        let h01 = simd.avx._mm256_hadd_ps(a[0], a[1]);
        let h23 = simd.avx._mm256_hadd_ps(a[2], a[3]);
        let h = simd.avx._mm256_hadd_ps(h01, h23);
        let lo = simd.avx._mm256_castps256_ps128(h);
        let hi = simd.avx._mm256_extractf128_ps::<1>(h);
        let s: __m128 = simd.sse._mm_add_ps(lo, hi);
        cast(s)
    }

    #[inline(always)]
    fn hsum4_epi32(simd: V3, a: [__m256i; R]) -> [i32; R] {
        let h01 = simd.avx2._mm256_hadd_epi32(a[0], a[1]);
        let h23 = simd.avx2._mm256_hadd_epi32(a[2], a[3]);
        let h = simd.avx2._mm256_hadd_epi32(h01, h23);
        let lo = simd.avx._mm256_castsi256_si128(h);
        let hi = simd.avx2._mm256_extracti128_si256::<1>(h);
        let s: __m128i = simd.sse2._mm_add_epi32(lo, hi);
        cast(s)
    }

    /// Runs `group` over `out`'s rows four at a time; the last, short group repeats its first
    /// row in the missing places (so every row is summed in the same order, whatever its
    /// position: a row's score does not depend on the rows around it).
    #[inline(always)]
    fn by_groups<T: Copy, O: Copy>(
        d: usize,
        rows: &[T],
        out: &mut [O],
        mut group: impl FnMut([&[T]; R]) -> [O; R],
    ) {
        for (g, o) in out.chunks_mut(R).enumerate() {
            let base = g * R * d;
            let rs: [&[T]; R] = core::array::from_fn(|r| {
                let r = if r < o.len() { r } else { 0 };
                &rows[base + r * d..base + (r + 1) * d]
            });
            let sums = group(rs);
            o.copy_from_slice(&sums[..o.len()]);
        }
    }

    /// One row's dot product (the f32 scan and the exact re-rank), reduced with the other
    /// three lanes of the reduction zero.
    #[inline(always)]
    pub(super) fn dot_f32(simd: V3, q: &[f32], row: &[f32]) -> f32 {
        let (qc, qt) = pulp::as_arrays::<8, f32>(q);
        let (rc, rt) = pulp::as_arrays::<8, f32>(row);
        let zero = simd.avx._mm256_setzero_ps();
        let (mut a, mut b) = (zero, zero);
        let mut i = 0;
        while i + 1 < qc.len() {
            a = simd
                .fma
                ._mm256_fmadd_ps(load_ps(simd, &qc[i]), load_ps(simd, &rc[i]), a);
            b = simd
                .fma
                ._mm256_fmadd_ps(load_ps(simd, &qc[i + 1]), load_ps(simd, &rc[i + 1]), b);
            i += 2;
        }
        if i < qc.len() {
            a = simd
                .fma
                ._mm256_fmadd_ps(load_ps(simd, &qc[i]), load_ps(simd, &rc[i]), a);
        }
        let a = simd.avx._mm256_add_ps(a, b);
        let tail: f32 = qt.iter().zip(rt).map(|(x, y)| x * y).sum();
        hsum4_ps(simd, [a, zero, zero, zero])[0] + tail
    }

    #[inline(always)]
    pub(super) fn dots_i8(simd: V3, q: &[i8], codes: &[i8], out: &mut [i32]) {
        let (qc, qt) = pulp::as_arrays::<32, i8>(q);
        let simd_len = q.len() - qt.len();
        let ones = simd.avx._mm256_set1_epi16(1);
        by_groups(q.len(), codes, out, |rs| {
            let rc: [&[[i8; 32]]; R] = core::array::from_fn(|r| pulp::as_arrays::<32, i8>(rs[r]).0);
            let mut a = [simd.avx._mm256_setzero_si256(); R];
            for (i, qchunk) in qc.iter().enumerate() {
                let qv = load_si(simd, qchunk);
                let qabs = simd.avx2._mm256_abs_epi8(qv);
                for r in 0..R {
                    let signed = simd.avx2._mm256_sign_epi8(load_si(simd, &rc[r][i]), qv);
                    let pairs = simd.avx2._mm256_maddubs_epi16(qabs, signed);
                    a[r] = simd
                        .avx2
                        ._mm256_add_epi32(a[r], simd.avx2._mm256_madd_epi16(pairs, ones));
                }
            }
            let mut sums = hsum4_epi32(simd, a);
            for r in 0..R {
                let tail: i32 = qt
                    .iter()
                    .zip(&rs[r][simd_len..])
                    .map(|(x, y)| i32::from(*x) * i32::from(*y))
                    .sum();
                sums[r] += tail;
            }
            sums
        });
    }
}
