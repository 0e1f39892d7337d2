//! Private directories and atomic file writes: the only way this program writes a file.
//! A reader sees the old file or the new one, never half of either; a writer killed
//! half-way leaves a temp file that the next write (or `logout`) removes.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

/// Creates `dir` and every missing parent as 0700 on Unix, whatever the umask. Folders
/// that already exist are left as they are.
pub(crate) fn private_dir(dir: &Path) -> Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && fs::symlink_metadata(d).is_err())
        .collect();
    for d in missing.into_iter().rev() {
        #[cfg(unix)]
        let builder = {
            let mut b = fs::DirBuilder::new();
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b
        };
        #[cfg(not(unix))]
        let builder = fs::DirBuilder::new();
        match builder.create(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("cannot create directory", d, e)),
        }
        // The umask can only take bits away from 0700; make it exactly 0700.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(d, fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io("cannot restrict permissions of", d, e))?;
        }
    }
    Ok(())
}

/// How a write treats a symbolic link where the file should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    /// Write the file the link points at (a dotfiles manager's kubeconfig).
    Follow,
    /// Replace the link itself; never touch what it points at (our cache files).
    Replace,
}

/// A fault point for the crash tests: with `EKSOP_AUTH_FAULT=<name>` a debug build aborts
/// here, as a power cut or `kill -9` would. Release builds have no fault points.
pub(crate) fn fault_point(name: &str) {
    #[cfg(debug_assertions)]
    if crate::env::fault_requested(name) {
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

/// Writes `bytes` to `path` through a temp file in the same directory (fsync, rename).
/// `mode` is the new file's permission bits on Unix (e.g. 0o600). The temp file has a name
/// no other writer uses, is removed on every error, and temp files that crashed writers
/// left beside `path` are removed first.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32, links: Links) -> Result<()> {
    write_atomic_with(path, bytes, mode, links, Duration::ZERO)
}

/// As `write_atomic`; temp files of writers that are gone are removed only once they are
/// `stale_after` old (a shared or network home may hold another host's write in progress).
fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    links: Links,
    stale_after: Duration,
) -> Result<()> {
    let resolved = (links == Links::Follow).then(|| follow_links(path));
    let path = resolved.as_deref().unwrap_or(path);
    // A file of another user's that we may replace (root running for them) stays theirs.
    #[cfg(unix)]
    let owner = other_owner(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    clean_stale_temps(dir, stale_after);
    let tmp = dir.join(temp_name(name));
    let result = (|| -> std::io::Result<()> {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut f: File = opts.open(&tmp)?;
        // `mode` on open is filtered by the umask; set it exactly.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Some((uid, gid)) = owner {
                rustix::fs::fchown(
                    &f,
                    Some(rustix::fs::Uid::from_raw(uid)),
                    Some(rustix::fs::Gid::from_raw(gid)),
                )?;
            }
            f.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        fault_point(&format!("before-rename:{folder}"));
        fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("cannot write", path, e));
    }
    Ok(())
}

/// Where a chain of symbolic links at `path` ends, even when the file there does not exist
/// yet (a dotfiles manager's link to a file not yet written): that file is the one to write.
fn follow_links(path: &Path) -> PathBuf {
    let mut at = path.to_path_buf();
    // As the kernel does, give up on long chains (a loop): then the path itself is written.
    for _ in 0..40 {
        match fs::read_link(&at) {
            Ok(target) => {
                at = match at.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Err(_) => return at,
        }
    }
    path.to_path_buf()
}

/// Whether a write to `path` (through its links) could keep the file's owner.
pub(crate) fn check_replaceable(path: &Path) -> Result<()> {
    #[cfg(unix)]
    other_owner(&follow_links(path))?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The owner and group of the file at `path` when they are not ours, for the new file to
/// keep. A file of another user's can only be kept theirs by root: otherwise refused.
#[cfg(unix)]
fn other_owner(path: &Path) -> Result<Option<(u32, u32)>> {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = fs::metadata(path) else {
        return Ok(None);
    };
    let (me, my_group) = (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    );
    if m.uid() == me && m.gid() == my_group {
        return Ok(None);
    }
    if m.uid() != me {
        return if me == 0 {
            Ok(Some((m.uid(), m.gid())))
        } else {
            Err(Error::OtherOwner {
                path: path.to_path_buf(),
                uid: m.uid(),
            })
        };
    }
    // Our own file in a shared group: keep the group when we are in it.
    let member = rustix::process::getgroups()
        .unwrap_or_default()
        .iter()
        .any(|g| g.as_raw() == m.gid());
    Ok((member || me == 0).then_some((m.uid(), m.gid())))
}

const TEMP_SUFFIX: &str = ".tmp";

/// `.<name>.<pid>.<random>.tmp`: unique to this write (a reused pid gets another name).
fn temp_name(name: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    // RandomState is seeded from the OS once per thread and differs per instance.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    format!(
        ".{name}.{}.{:016x}{TEMP_SUFFIX}",
        std::process::id(),
        h.finish()
    )
}

/// The writer's pid in a temp name of ours (`.<name>.<pid>.<16 hex digits>.tmp`).
fn temp_owner(file_name: &str) -> Option<u32> {
    let stem = file_name.strip_prefix('.')?.strip_suffix(TEMP_SUFFIX)?;
    let mut parts = stem.rsplitn(3, '.');
    let random = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    let target = parts.next()?;
    (random.len() == 16 && random.bytes().all(|b| b.is_ascii_hexdigit()) && !target.is_empty())
        .then_some(pid)
}

/// Removes temp files in `dir` whose writer is gone and that are at least `min_age` old
/// (best effort).
pub(crate) fn clean_stale_temps(dir: &Path, min_age: Duration) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_owner) else {
            continue;
        };
        let old_enough = min_age.is_zero()
            || entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= min_age);
        if pid != std::process::id() && old_enough && !process_alive(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    // EPERM means it exists (and is someone else's); ESRCH means it is gone.
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(e) if e == rustix::io::Errno::SRCH
    )
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    // Without a cheap liveness check, keep the file: a stale one never blocks a write.
    true
}

/// Reads a file; `Ok(None)` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

/// Removes a file; a missing file is fine.
pub(crate) fn remove_optional(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("cannot remove", path, e)),
    }
}

/// What `write_if_changed` keeps of the file it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeepOld {
    /// A copy the first time only (`<file>.eksop-auth.bak`): the rewrite loses nothing.
    Once,
    /// A copy every time (the first as `.eksop-auth.bak`, later ones with the time in the
    /// name): the rewrite drops something of the old text, such as comments.
    Always,
}

/// What `write_if_changed` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) changed: bool,
    /// The copy of the old file made now, if one was.
    pub(crate) backup: Option<PathBuf>,
}

/// Writes `new` atomically when it differs from `old`, keeping the original's permissions
/// and owner and a copy of it (see `KeepOld`). New files are 0600 in a 0700 directory.
pub(crate) fn write_if_changed(
    path: &Path,
    old: Option<&str>,
    new: &str,
    keep: KeepOld,
    now: std::time::SystemTime,
) -> Result<Written> {
    if old == Some(new) {
        return Ok(Written {
            changed: false,
            backup: None,
        });
    }
    let mode = existing_mode(path).unwrap_or(0o600);
    // The user's own folders may be shared or on a network disk: leave young temp files.
    let stale = Duration::from_secs(60);
    let mut backup = None;
    if let Some(old) = old {
        let first = PathBuf::from(format!("{}.eksop-auth.bak", path.display()));
        let copy = if !first.exists() {
            Some(first)
        } else if keep == KeepOld::Always {
            let stamp = chrono::DateTime::<chrono::Utc>::from(now).format("%Y%m%dT%H%M%SZ");
            Some(PathBuf::from(format!(
                "{}.eksop-auth.{stamp}.bak",
                path.display()
            )))
        } else {
            None
        };
        if let Some(copy) = copy {
            write_atomic_with(&copy, old.as_bytes(), mode, Links::Replace, stale)?;
            backup = Some(copy);
        }
    } else if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        private_dir(dir)?;
    }
    write_atomic_with(path, new.as_bytes(), mode, Links::Follow, stale)?;
    Ok(Written {
        changed: true,
        backup,
    })
}

/// The permission bits of an existing file (Unix); `None` elsewhere or when absent.
fn existing_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        private_dir(&sub).unwrap();
        let p = sub.join("f.json");
        write_atomic(&p, b"one", 0o600, Links::Replace).unwrap();
        write_atomic(&p, b"two", 0o600, Links::Replace).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&p), 0o600);
            assert_eq!(mode(&sub), 0o700);
            assert_eq!(mode(&dir.path().join("a")), 0o700, "parents we create too");
        }
        assert_eq!(
            fs::read_dir(&sub).unwrap().count(),
            1,
            "no temp file left behind"
        );
    }

    #[test]
    fn temp_names_are_unique_and_stale_ones_go() {
        let a = temp_name("f.json");
        assert_ne!(a, temp_name("f.json"));
        assert_eq!(temp_owner(&a), Some(std::process::id()));
        assert_eq!(temp_owner("f.json"), None);
        let dir = tempfile::tempdir().unwrap();
        // A writer that died (pid 0x7fffffff does not exist) and one that is alive (us).
        let dead = dir.path().join(".f.json.2147483646.00000000000000aa.tmp");
        let not_ours = dir.path().join(".f.json.2147483646.tmp");
        fs::write(&not_ours, "someone else's").unwrap();
        let live = dir.path().join(&a);
        fs::write(&dead, "secret").unwrap();
        fs::write(&live, "in progress").unwrap();
        clean_stale_temps(dir.path(), Duration::ZERO);
        assert!(!dead.exists() && live.exists() && not_ours.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_followed_or_replaced_as_asked() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, "original").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"through", 0o600, Links::Follow).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"through");
        write_atomic(&link, b"replaced", 0o600, Links::Replace).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"through");
        assert!(
            !fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}
