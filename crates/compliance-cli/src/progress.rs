//! Progress for long waits (a provider that is slow to answer, a delivery being retried):
//! a spinner line on stderr when stderr is a terminal, nothing at all otherwise.

use std::future::Future;
use std::io::Write as _;
use std::time::{Duration, Instant};

use crate::outcome::Output;

const FRAMES: [&str; 4] = ["|", "/", "-", "\\"];
const TICK: Duration = Duration::from_millis(120);

/// Runs `work`, showing `label` and the time spent while it runs (on a terminal only). The
/// first frame is drawn before the work starts; the line is erased when it ends.
pub async fn show<F: Future>(out: &Output, label: &str, work: F) -> F::Output {
    if !out.terminal {
        return work.await;
    }
    let started = Instant::now();
    let draw = |frame: usize| {
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{} {label} {:.1}s",
            FRAMES[frame % FRAMES.len()],
            started.elapsed().as_secs_f32()
        );
        let _ = err.flush();
    };
    draw(0);
    let mut work = std::pin::pin!(work);
    let mut ticker = tokio::time::interval(TICK);
    ticker.tick().await;
    let mut frame = 1;
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            _ = ticker.tick() => {
                draw(frame);
                frame += 1;
            }
        }
    };
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
    result
}
