//! Standard output and standard error without panics.
//!
//! `println!` panics when stdout is a closed pipe (`segcore hash DIR | head -1`) or a full disk.
//! Every line segcore prints goes through here instead:
//!
//! - [`product`]: output that *is* the command's result (`hash`, `fmt --stdout`, `fmt --rule`,
//!   `sql` without `--out`, `explain`). When the reader has gone (EPIPE), the command stops
//!   and segcore exits 0 without a message, like ripgrep does.
//! - [`report`]: lines about work done elsewhere (`eval`'s summary, `fmt`'s "formatted …",
//!   `check`'s "ok: …", `demo`). When the reader has gone they are dropped and the command
//!   finishes its work: a closed pipe never leaves files half-formatted or changes the exit status.
//!   When an output file *is* stdout (`eval --out /dev/stdout`), they go to stderr instead.
//!
//! Any other write error on stdout (`> /dev/full`: ENOSPC) is an `io` error with a non-zero exit.
//! Standard error is best effort: a closed stderr is ignored.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use segcore::ErrorKind;

use crate::io::{error, CliResult};

/// Set once a write to stdout failed with EPIPE; later writes are skipped.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// The error value that makes `main` exit 0 silently: stdout was closed while the command's
/// result was being written.
pub const STDOUT_CLOSED: &str = "\0stdout closed";

fn write_stdout(text: &str) -> CliResult<bool> {
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(false);
    }
    let mut lock = io::stdout().lock();
    match lock.write_all(text.as_bytes()).and_then(|()| lock.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(false)
        }
        Err(e) => Err(error(ErrorKind::Io, format!("standard output: {e}"))),
    }
}

/// Writes part of the command's result to stdout; `Err(STDOUT_CLOSED)` once nobody reads it.
pub fn product(text: &str) -> CliResult<()> {
    if write_stdout(text)? {
        Ok(())
    } else {
        Err(STDOUT_CLOSED.into())
    }
}

/// Set when an output file is segcore's own stdout (`--out /dev/stdout`): stdout then carries
/// only that output, and report lines go to stderr.
static REPORTS_TO_STDERR: AtomicBool = AtomicBool::new(false);

/// Sends report lines to stderr from now on (stdout carries an output file).
pub fn reports_to_stderr() {
    REPORTS_TO_STDERR.store(true, Ordering::Relaxed);
}

/// Writes a report line to stdout (stderr if stdout carries an output file); dropped silently
/// once nobody reads it.
pub fn report(text: &str) -> CliResult<()> {
    if REPORTS_TO_STDERR.load(Ordering::Relaxed) {
        err(text);
        return Ok(());
    }
    write_stdout(text).map(|_| ())
}

/// Writes to stderr, ignoring errors (there is nowhere left to report them).
pub fn err(text: &str) {
    let mut lock = io::stderr().lock();
    let _ = lock.write_all(text.as_bytes());
    let _ = lock.flush();
}

/// `println!` for command results: `productln!("{x}")?`.
macro_rules! productln {
    ($($arg:tt)*) => { $crate::out::product(&format!("{}\n", format_args!($($arg)*))) };
}

/// `println!` for report lines: `reportln!("formatted {}", path)?`.
macro_rules! reportln {
    ($($arg:tt)*) => { $crate::out::report(&format!("{}\n", format_args!($($arg)*))) };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::out::err(&format!("{}\n", format_args!($($arg)*))) };
}
