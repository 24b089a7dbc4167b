//! Work split over threads in contiguous ranges, joined in order: the batch driver, the columnar
//! engine and the text readers share it (one place that catches a panic in a worker).

use crate::error::{DataLocation, Error, ErrorKind};

/// `f` over `0..n` split into contiguous ranges on up to `threads` threads (one range below
/// `min_rows` rows, and in WASM), results in range order; the first error in range order is
/// returned. A panic is the error `internal` at its range's first row (a bug, never bad input).
/// The batch driver, the columnar engine and the JSONL readers split their work this way.
pub(crate) fn parallel_ranges<U: Send>(
    n: usize,
    threads: usize,
    min_rows: usize,
    f: &(dyn Fn(std::ops::Range<usize>) -> Result<U, Error> + Sync),
) -> Result<Vec<U>, Error> {
    let run = |range: std::ops::Range<usize>| -> Result<U, Error> {
        let start = range.start;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(range))).unwrap_or_else(|payload| {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            let message = format!("a worker thread failed inside segcore (a bug; please report it): {what}");
            Err(Error::new(ErrorKind::Internal, message)
                .at_data(DataLocation { row: Some(start as u64), ..Default::default() }))
        })
    };
    // Threads cost more than they save on small tables (and do not exist in WASM).
    if threads <= 1 || n < min_rows || cfg!(target_family = "wasm") {
        return Ok(vec![run(0..n)?]);
    }
    let chunk = n.div_ceil(threads);
    let parts: Vec<Result<U, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|s| {
                let run = &run;
                scope.spawn(move || run(s..(s + chunk).min(n)))
            })
            .collect();
        // `run` catches panics, so a join never fails; if one did, it is still no input's fault.
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::new(ErrorKind::Internal, "a worker thread failed"))))
            .collect()
    });
    parts.into_iter().collect()
}
