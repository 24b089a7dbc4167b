//! Output files (`eval --out`, `sql --out`, `fmt`'s rewrites, the demo's data), written so that a
//! failure never leaves a half-written file and nothing but the named file is replaced:
//!
//! - a regular file, or a path that does not exist yet, is written to a temporary file beside it
//!   (`.{name}.segcore-tmp.{pid}`) and renamed over it on success; an existing file keeps its
//!   permissions (and, where allowed, its owner);
//! - a symlink is written *through*: the temporary file goes beside the link's target and is
//!   renamed over the target, so the link stays a link (a dangling link's target is created);
//! - anything else that exists (a device such as `/dev/stdout` or `/dev/full`, a FIFO) is opened
//!   and written directly, streaming; its write errors (ENOSPC) are reported. Sockets and folders
//!   are refused. A regular file that is segcore's own standard output (`--out /dev/stdout >
//!   file`) is written through standard output. Whenever the output is standard output, report
//!   lines (`eval`'s summary) go to standard error, so standard output carries only the rows;
//! - temporary files of earlier runs that were killed (their pid no longer runs) are removed when
//!   the same output is written again.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use segcore::ErrorKind;

use crate::io::{error, CliResult};

/// An `io` error about `path`.
pub fn io_error(path: &Path, e: impl std::fmt::Display) -> String {
    error(ErrorKind::Io, format!("{}: {e}", path.display()))
}

enum Mode {
    /// Written to `tmp`, renamed over `target` on commit.
    Replace { tmp: PathBuf, target: PathBuf, committed: bool },
    /// Written straight into a device or FIFO.
    Direct,
}

/// An output being written; call [`OutputFile::commit`] when complete.
pub struct OutputFile {
    pub writer: BufWriter<File>,
    path: PathBuf,
    mode: Mode,
}

/// The temporary-file prefixes a run writing `name` uses (the second is the spelling of
/// segcore 0.1.0 and earlier, whose leftovers are cleaned up too).
fn temp_prefixes(name: &str) -> [String; 2] {
    [format!(".{name}.segcore-tmp."), format!(".{name}.tmp-")]
}

/// Whether process `pid` exists. Without `/proc` every pid counts as alive (nothing is removed).
fn alive(pid: u32) -> bool {
    !Path::new("/proc/self").exists() || Path::new("/proc").join(pid.to_string()).exists()
}

/// Removes temporary files for `name` in `dir` left by runs that no longer exist.
fn remove_stale(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let own = std::process::id();
    let prefixes = temp_prefixes(name);
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else { continue };
        let Some(pid) = prefixes.iter().find_map(|p| file_name.strip_prefix(p.as_str())?.parse::<u32>().ok()) else {
            continue;
        };
        let regular = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if pid != own && regular && !alive(pid) && fs::remove_file(entry.path()).is_ok() {
            errln!("segcore: removed {}, left by an interrupted run (process {pid})", entry.path().display());
        }
    }
}

/// Where a path that does not exist leads: itself, or the end of its chain of (dangling) symlinks.
fn follow_dangling(path: &Path) -> CliResult<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&p).map_err(|e| io_error(&p, e))?;
                p = p.parent().unwrap_or(Path::new("")).join(link);
            }
            _ => return Ok(p),
        }
    }
    Err(io_error(path, "too many levels of symbolic links"))
}

#[cfg(unix)]
fn is_socket(m: &fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    m.file_type().is_socket()
}

#[cfg(not(unix))]
fn is_socket(_: &fs::Metadata) -> bool {
    false
}

/// Gives the new file the permissions (and, when permitted, the owner) of the one it replaces.
fn keep_metadata(file: &File, tmp: &Path, old: &fs::Metadata) -> CliResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // Only root may give a file away; for anyone else the owner already matches or cannot.
        let _ = std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()));
    }
    file.set_permissions(old.permissions()).map_err(|e| io_error(tmp, format!("cannot set permissions: {e}")))
}

impl OutputFile {
    /// Opens `path` for writing by the rules in the module documentation.
    pub fn create(path: &Path) -> CliResult<OutputFile> {
        match fs::metadata(path) {
            Ok(m) if m.is_file() => {
                if let Some(f) = stdout_if_same(&m) {
                    crate::out::reports_to_stderr();
                    return Ok(OutputFile { writer: BufWriter::new(f), path: path.to_path_buf(), mode: Mode::Direct });
                }
                let target = fs::canonicalize(path).map_err(|e| io_error(path, e))?;
                OutputFile::replace(path, target, Some(&m))
            }
            Ok(m) if m.is_dir() => Err(io_error(path, "is a folder, not a file")),
            Ok(m) if is_socket(&m) => {
                Err(io_error(path, "is a socket; an output must be a regular file, a device or a FIFO"))
            }
            Ok(m) => {
                if stdout_if_same(&m).is_some() {
                    crate::out::reports_to_stderr();
                }
                let f = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| io_error(path, format!("cannot open for writing: {e}")))?;
                Ok(OutputFile { writer: BufWriter::new(f), path: path.to_path_buf(), mode: Mode::Direct })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let target = follow_dangling(path)?;
                OutputFile::replace(path, target, None)
            }
            Err(e) => Err(io_error(path, e)),
        }
    }

    fn replace(path: &Path, target: PathBuf, old: Option<&fs::Metadata>) -> CliResult<OutputFile> {
        let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(|e| io_error(dir, format!("cannot create folder: {e}")))?;
        let name = target.file_name().ok_or_else(|| io_error(path, "is not a file name"))?.to_string_lossy();
        remove_stale(dir, &name);
        let tmp = dir.join(format!("{}{}", temp_prefixes(&name)[0], std::process::id()));
        let f = File::create(&tmp).map_err(|e| io_error(&tmp, format!("cannot create: {e}")))?;
        if let Some(old) = old {
            if let Err(e) = keep_metadata(&f, &tmp, old) {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        }
        Ok(OutputFile {
            writer: BufWriter::new(f),
            path: path.to_path_buf(),
            mode: Mode::Replace { tmp, target, committed: false },
        })
    }

    /// An `io` error about this output.
    pub fn error(&self, e: impl std::fmt::Display) -> String {
        io_error(&self.path, e)
    }

    /// Flushes; for a replaced file also syncs and renames it into place.
    pub fn commit(mut self) -> CliResult<()> {
        self.writer.flush().map_err(|e| self.error(format!("cannot write: {e}")))?;
        let path = self.path.clone();
        if let Mode::Replace { tmp, target, committed } = &mut self.mode {
            self.writer.get_ref().sync_all().map_err(|e| io_error(&path, format!("cannot write: {e}")))?;
            fs::rename(&*tmp, &*target).map_err(|e| io_error(&path, format!("cannot move into place: {e}")))?;
            *committed = true;
        }
        Ok(())
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if let Mode::Replace { tmp, committed: false, .. } = &self.mode {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Standard output (a duplicate of its descriptor, sharing the offset) when it is the file `m`:
/// `--out /dev/stdout` with stdout redirected to a file writes the rows where the summary goes,
/// in order, instead of replacing the file under the shell's descriptor.
#[cfg(unix)]
fn stdout_if_same(m: &fs::Metadata) -> Option<File> {
    use std::os::fd::AsFd;
    let stdout = File::from(std::io::stdout().as_fd().try_clone_to_owned().ok()?);
    let sm = stdout.metadata().ok()?;
    same_file(&sm, m).then_some(stdout)
}

#[cfg(not(unix))]
fn stdout_if_same(_: &fs::Metadata) -> Option<File> {
    None
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// The files `--segments` reads: the file itself, or every file directly in the folder.
pub fn segment_files(path: &Path) -> Vec<PathBuf> {
    match fs::read_dir(path) {
        Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
        Err(_) => vec![path.to_path_buf()],
    }
}

/// Refuses an output that is one of the inputs: the same regular file (device and inode), however
/// it is spelled (`./p.jsonl`, `sub/../p.jsonl`, a symlink, a hard link). Checked before anything
/// is read or written. (A device or FIFO named as both is not refused: nothing is overwritten.)
pub fn ensure_not_an_input(out: &Path, inputs: &[(&str, &Path)]) -> CliResult<()> {
    let Ok(out_meta) = fs::metadata(out) else { return Ok(()) };
    if !out_meta.is_file() {
        return Ok(());
    }
    #[cfg(not(unix))]
    let out_real = fs::canonicalize(out).ok();
    for (flag, input) in inputs {
        let Ok(meta) = fs::metadata(input) else { continue };
        #[cfg(unix)]
        let same = same_file(&out_meta, &meta);
        #[cfg(not(unix))]
        let same = meta.is_file() && out_real.is_some() && fs::canonicalize(input).ok() == out_real;
        if same {
            return Err(error(
                ErrorKind::Io,
                format!(
                    "--out {} is the same file as {flag} {}; refusing to overwrite an input",
                    out.display(),
                    input.display()
                ),
            ));
        }
    }
    Ok(())
}
