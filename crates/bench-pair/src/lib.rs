//! The workspace's one benchmark harness (dev-only, not published).
//!
//! Every row of `cargo xtask bench` times a path of the project beside the bare code it
//! stands for (the same signed POST with `reqwest` and `serde_json::Value`, the same hash
//! without the scanning, ...) **in the same run, alternately**: one chunk of the project's
//! path, then one chunk of the baseline, then the other way round, each chunk about
//! 200 µs long. Whatever else a shared machine does in the meantime slows both sides alike,
//! so the ratio of the two holds still where absolute times swing.
//!
//! [`compare`] (and [`compare_async`] for paths that wait on I/O) registers the row with
//! criterion as a group of two functions, `project` and `bare`, so `cargo bench` shows
//! criterion's usual report of each; every criterion sample runs both sides for the same
//! number of iterations, so each sample is a pair. After the group the row prints one line:
//!
//! ```text
//! bench-pair row=verify_signature ratio=1.0812 q1=1.0645 q3=1.0990 project_ns=1402.1 bare_ns=1296.8 samples=58
//! ```
//!
//! `ratio` is the median over the pairs of project time / bare time (lower is faster),
//! `q1`/`q3` its quartiles, `project_ns`/`bare_ns` the median time of one call of each
//! side. `cargo xtask bench` runs the benches, reads these lines and prints the table with
//! the targets.
//!
//! [`Loopback`] is the HTTP server the rows that make requests share.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};

mod loopback;

pub use loopback::Loopback;

/// The first word of the line each row prints (`bench-pair row=... ratio=...`), which
/// `cargo xtask bench` looks for.
pub const LINE_PREFIX: &str = "bench-pair";

/// How long one side runs before the other takes its turn.
const CHUNK: Duration = Duration::from_micros(200);
/// Pairs shorter than this (criterion's first warm-up calls, `--test` mode) are too coarse
/// to count.
const MIN_SAMPLE: Duration = Duration::from_millis(1);
/// Fewer pairs than this print no ratio (a filtered or `--test` run).
const MIN_SAMPLES: usize = 5;

/// The settings every bench starts from (`criterion_group! { config = bench_pair::criterion(); .. }`):
/// 30 samples in 3 s after 1 s of warm-up, per side. Wall time is twice that, since each
/// sample runs both sides. Criterion's command line (`--measurement-time`, ...) overrides
/// them.
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .nresamples(20_000)
}

/// Runs a row's futures: a Tokio runtime for rows that wait on I/O, [`Inline`] for rows
/// whose futures never wait.
pub trait Executor {
    /// Runs `future` to completion.
    fn block_on<F: Future>(&self, future: F) -> F::Output;
}

impl Executor for tokio::runtime::Runtime {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        tokio::runtime::Runtime::block_on(self, future)
    }
}

/// Polls a future once, for work that never waits (plain functions, `MemoryInbox`).
///
/// # Panics
///
/// If the future waits: such a row needs a Tokio runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inline;

impl Executor for Inline {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("an inline benchmark row waited: give it a Tokio runtime"),
        }
    }
}

/// Times `project` beside `bare` as the row `row` (see the crate docs). Both are called
/// many times; their results go through [`black_box`].
pub fn compare<P, B>(
    c: &mut Criterion,
    row: &str,
    mut project: impl FnMut() -> P,
    mut bare: impl FnMut() -> B,
) {
    compare_async(c, row, &Inline, async || project(), async || bare());
}

/// [`compare`] for paths that wait: each sample runs inside one
/// [`block_on`](Executor::block_on) of `executor`.
pub fn compare_async<P, B>(
    c: &mut Criterion,
    row: &str,
    executor: &impl Executor,
    mut project: impl AsyncFnMut() -> P,
    mut bare: impl AsyncFnMut() -> B,
) {
    let pairs = RefCell::new(Vec::new());
    let turns = Turns::default();
    let mut group = c.benchmark_group(row);
    // Every sample the same length: the pairs are alike, their median meaningful.
    group.sampling_mode(SamplingMode::Flat);
    for side in [Side::Project, Side::Bare] {
        group.bench_function(side.name(), |b| {
            b.iter_custom(|iters| {
                let pair = executor.block_on(turns.run(iters, &mut project, &mut bare));
                pairs.borrow_mut().push(pair);
                match side {
                    Side::Project => pair.project,
                    Side::Bare => pair.bare,
                }
            })
        });
    }
    group.finish();
    if let Some(line) = summary(row, &pairs.into_inner()) {
        println!("{line}");
    }
}

#[derive(Clone, Copy)]
enum Side {
    Project,
    Bare,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Project => "project",
            Side::Bare => "bare",
        }
    }
}

/// One criterion sample: both sides, the same number of calls each.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pair {
    iters: u64,
    project: Duration,
    bare: Duration,
}

/// Who goes first next, and how many calls make a chunk (measured on first use).
#[derive(Default)]
struct Turns {
    chunk: Cell<u64>,
    project_first: Cell<bool>,
}

impl Turns {
    async fn run<P, B>(
        &self,
        iters: u64,
        project: &mut impl AsyncFnMut() -> P,
        bare: &mut impl AsyncFnMut() -> B,
    ) -> Pair {
        if self.chunk.get() == 0 {
            let slower = per_call(project).await.max(per_call(bare).await);
            let calls = CHUNK.as_nanos() / slower.as_nanos().max(1);
            self.chunk.set(calls.clamp(1, u64::MAX.into()) as u64);
        }
        let mut pair = Pair {
            iters,
            project: Duration::ZERO,
            bare: Duration::ZERO,
        };
        let mut left = iters;
        while left > 0 {
            let n = left.min(self.chunk.get());
            left -= n;
            let project_first = !self.project_first.get();
            self.project_first.set(project_first);
            if project_first {
                pair.project += timed(n, project).await;
                pair.bare += timed(n, bare).await;
            } else {
                pair.bare += timed(n, bare).await;
                pair.project += timed(n, project).await;
            }
        }
        pair
    }
}

/// The time of one call, from a run long enough to read (a quarter of a chunk).
async fn per_call<T>(f: &mut impl AsyncFnMut() -> T) -> Duration {
    let mut n = 1u32;
    loop {
        let t = timed(u64::from(n), f).await;
        if t >= CHUNK / 4 || n >= 1 << 20 {
            return t / n;
        }
        n *= 2;
    }
}

async fn timed<T>(n: u64, f: &mut impl AsyncFnMut() -> T) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(f().await);
    }
    start.elapsed()
}

/// The row's line, or `None` when too few pairs were long enough to count.
fn summary(row: &str, pairs: &[Pair]) -> Option<String> {
    let pairs: Vec<&Pair> = pairs
        .iter()
        .filter(|p| p.project + p.bare >= MIN_SAMPLE && !p.project.is_zero() && !p.bare.is_zero())
        .collect();
    if pairs.len() < MIN_SAMPLES {
        return None;
    }
    let ratios = sorted(
        pairs
            .iter()
            .map(|p| p.project.as_secs_f64() / p.bare.as_secs_f64()),
    );
    let per_call = |d: Duration, iters: u64| d.as_secs_f64() * 1e9 / iters as f64;
    let project = sorted(pairs.iter().map(|p| per_call(p.project, p.iters)));
    let bare = sorted(pairs.iter().map(|p| per_call(p.bare, p.iters)));
    Some(format!(
        "{LINE_PREFIX} row={row} ratio={:.4} q1={:.4} q3={:.4} project_ns={:.1} bare_ns={:.1} samples={}",
        quantile(&ratios, 0.5),
        quantile(&ratios, 0.25),
        quantile(&ratios, 0.75),
        quantile(&project, 0.5),
        quantile(&bare, 0.5),
        pairs.len(),
    ))
}

fn sorted(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The `q` quantile of sorted `values`, interpolated between neighbours.
fn quantile(values: &[f64], q: f64) -> f64 {
    let at = q * (values.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (at - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(iters: u64, project_us: u64, bare_us: u64) -> Pair {
        Pair {
            iters,
            project: Duration::from_micros(project_us),
            bare: Duration::from_micros(bare_us),
        }
    }

    #[test]
    fn the_line_is_the_median_of_the_pairs_long_enough_to_count() {
        let mut pairs = vec![pair(1, 10, 10); 3]; // warm-up: too short, left out
        pairs.extend([
            pair(1000, 2000, 1000),
            pair(1000, 1200, 1000),
            pair(1000, 1100, 1000),
            pair(1000, 9000, 1000), // a pair hit by a pause: the median ignores it
            pair(1000, 1300, 1000),
        ]);
        assert_eq!(
            summary("row_a", &pairs).unwrap(),
            "bench-pair row=row_a ratio=1.3000 q1=1.2000 q3=2.0000 project_ns=1300.0 \
             bare_ns=1000.0 samples=5"
        );
        assert_eq!(summary("row_a", &pairs[..6]), None, "too few pairs");
    }

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(quantile(&[1.0, 2.0], 0.5), 1.5);
        assert_eq!(quantile(&[1.0, 2.0, 4.0], 0.75), 3.0);
        assert_eq!(quantile(&[7.0], 0.25), 7.0);
    }

    #[test]
    fn chunks_alternate_and_cover_every_iteration() {
        let turns = Turns::default();
        turns.chunk.set(3);
        let order = RefCell::new(String::new());
        let pair = Inline.block_on(turns.run(
            10,
            &mut async || order.borrow_mut().push('p'),
            &mut async || order.borrow_mut().push('b'),
        ));
        assert_eq!(pair.iters, 10);
        assert_eq!(
            order.into_inner(),
            "pppbbb".to_owned() + "bbbppp" + "pppbbb" + "bp"
        );
    }

    #[test]
    fn the_chunk_is_measured_once_and_holds_at_least_one_call() {
        let turns = Turns::default();
        let calls = Cell::new(0u32);
        Inline.block_on(turns.run(
            1,
            &mut async || calls.set(calls.get() + 1),
            &mut async || {},
        ));
        let chunk = turns.chunk.get();
        assert!(chunk >= 1);
        assert!(calls.get() > 1, "calibration calls the side too");
        let before = calls.get();
        Inline.block_on(turns.run(
            1,
            &mut async || calls.set(calls.get() + 1),
            &mut async || {},
        ));
        assert_eq!(turns.chunk.get(), chunk);
        assert_eq!(calls.get(), before + 1);
    }
}
