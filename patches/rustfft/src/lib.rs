//! The part of the `rustfft` API that tract uses, as a plain discrete Fourier transform.
//!
//! tract-core implements its `Fft` and `Stft` operators with rustfft, whose SIMD kernels (SSE,
//! AVX and NEON, for f32 and f64) are 1.2 MB of Tailor's 13.3 MB mobile library. Tailor never runs
//! those operators: the model contract (`core/src/model/contract.rs`, `OPERATORS`) refuses a
//! graph with `DFT` or `STFT` before tract sees it. tract still links them, because its NNEF
//! registry names every operator, so the workspace replaces rustfft with this crate through
//! `[patch.crates-io]`. The transform here is correct (tests below compare it with the
//! definition), just O(n²): it keeps tract's code paths working without the kernels.

pub use num_complex;
pub use num_traits;

use num_complex::Complex;
use num_traits::{Float, FloatConst, FromPrimitive, Signed};
use std::fmt::Debug;
use std::sync::Arc;

/// Forward (`exp(-2πi·jk/n)`) or inverse (`exp(+2πi·jk/n)`); neither is normalized, as in rustfft.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FftDirection {
    Forward,
    Inverse,
}

/// The element types a transform works on (f32 and f64).
pub trait FftNum:
    Copy + FromPrimitive + Signed + Float + FloatConst + Sync + Send + Debug + 'static
{
}

impl<T> FftNum for T where
    T: Copy + FromPrimitive + Signed + Float + FloatConst + Sync + Send + Debug + 'static
{
}

/// A planned transform of one length.
pub trait Fft<T: FftNum>: Sync + Send {
    /// Transforms every consecutive `len()` values of `buffer` in place (a shorter tail is
    /// left as it is).
    fn process(&self, buffer: &mut [Complex<T>]);
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn fft_direction(&self) -> FftDirection;
}

/// Plans transforms; every plan is the same direct DFT.
pub struct FftPlanner<T> {
    _element: std::marker::PhantomData<T>,
}

impl<T: FftNum> Default for FftPlanner<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: FftNum> FftPlanner<T> {
    pub fn new() -> Self {
        FftPlanner {
            _element: std::marker::PhantomData,
        }
    }

    pub fn plan_fft(&mut self, len: usize, direction: FftDirection) -> Arc<dyn Fft<T>> {
        Arc::new(Dft { len, direction })
    }

    pub fn plan_fft_forward(&mut self, len: usize) -> Arc<dyn Fft<T>> {
        self.plan_fft(len, FftDirection::Forward)
    }

    pub fn plan_fft_inverse(&mut self, len: usize) -> Arc<dyn Fft<T>> {
        self.plan_fft(len, FftDirection::Inverse)
    }
}

struct Dft {
    len: usize,
    direction: FftDirection,
}

impl<T: FftNum> Fft<T> for Dft {
    fn process(&self, buffer: &mut [Complex<T>]) {
        let n = self.len;
        if n == 0 {
            return;
        }
        let sign = match self.direction {
            FftDirection::Forward => -T::one(),
            FftDirection::Inverse => T::one(),
        };
        let step = sign * (T::PI() + T::PI()) / T::from_usize(n).unwrap_or_else(T::one);
        let mut out = vec![Complex::new(T::zero(), T::zero()); n];
        for chunk in buffer.chunks_exact_mut(n) {
            for (k, slot) in out.iter_mut().enumerate() {
                let mut sum = Complex::new(T::zero(), T::zero());
                for (j, x) in chunk.iter().enumerate() {
                    // j·k mod n keeps the angle small, so large transforms stay accurate.
                    let turn = T::from_usize(j * k % n).unwrap_or_else(T::zero);
                    sum = sum + *x * Complex::from_polar(T::one(), step * turn);
                }
                *slot = sum;
            }
            chunk.copy_from_slice(&out);
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn fft_direction(&self) -> FftDirection {
        self.direction
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_then_inverse_gives_n_times_the_input() {
        let input: Vec<Complex<f64>> = (0..12)
            .map(|i| Complex::new(i as f64 * 0.5 - 2.0, (i * i) as f64 % 5.0))
            .collect();
        let mut planner = FftPlanner::new();
        let mut v = input.clone();
        planner.plan_fft_forward(12).process(&mut v);
        planner.plan_fft_inverse(12).process(&mut v);
        for (a, b) in v.iter().zip(&input) {
            assert!((a / 12.0 - b).norm() < 1e-9, "{a} vs {b}");
        }
    }

    #[test]
    fn matches_known_transforms() {
        // An impulse transforms to all ones; a constant to n at frequency 0.
        let mut impulse = vec![Complex::new(0.0f32, 0.0); 8];
        impulse[0] = Complex::new(1.0, 0.0);
        FftPlanner::new().plan_fft_forward(8).process(&mut impulse);
        assert!(impulse
            .iter()
            .all(|c| (c - Complex::new(1.0, 0.0)).norm() < 1e-6));
        let mut constant = vec![Complex::new(1.0f32, 0.0); 4];
        FftPlanner::new()
            .plan_fft(4, FftDirection::Forward)
            .process(&mut constant);
        assert!((constant[0] - Complex::new(4.0, 0.0)).norm() < 1e-6);
        assert!(constant[1..].iter().all(|c| c.norm() < 1e-6));
        // x[j] = exp(2πi·j/4) puts all of its energy at frequency 1.
        let mut wave: Vec<Complex<f64>> = (0..4)
            .map(|j| Complex::from_polar(1.0, std::f64::consts::PI / 2.0 * j as f64))
            .collect();
        FftPlanner::new().plan_fft_forward(4).process(&mut wave);
        assert!((wave[1] - Complex::new(4.0, 0.0)).norm() < 1e-9);
        assert!(wave[0].norm() < 1e-9 && wave[2].norm() < 1e-9 && wave[3].norm() < 1e-9);
    }

    #[test]
    fn transforms_every_chunk_of_a_longer_buffer() {
        let mut two = vec![Complex::new(1.0f64, 0.0); 6];
        FftPlanner::new().plan_fft_forward(3).process(&mut two);
        assert!((two[0] - Complex::new(3.0, 0.0)).norm() < 1e-9);
        assert!((two[3] - Complex::new(3.0, 0.0)).norm() < 1e-9);
    }
}
