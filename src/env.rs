//! The process environment, read once: the only module that calls `std::env::var*` or
//! `current_exe` (clippy.toml enforces it). Everything else asks an `Env` snapshot, so a test
//! can hand any command any environment.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// A snapshot of the process environment (empty values count as unset, as in the AWS SDKs).
/// Cheap to clone: the seams that need it share one copy.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    vars: Arc<HashMap<String, String>>,
    /// This program's path, when a test sets it; otherwise asked of the OS on demand.
    exe: Option<PathBuf>,
}

impl Env {
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn from_process() -> Self {
        Env {
            vars: Arc::new(
                std::env::vars_os()
                    .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                    .collect(),
            ),
            exe: None,
        }
    }

    #[cfg(test)]
    pub(crate) fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Env {
            vars: Arc::new(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            exe: Some(PathBuf::from("/opt/eksop-auth/bin/eksop-auth")),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The first of `keys` that is set.
    pub(crate) fn first(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.get(k))
    }

    /// An AWS-style boolean setting (`true`/`false`, any case).
    pub(crate) fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    pub(crate) fn home(&self) -> Option<PathBuf> {
        self.first(&["HOME", "USERPROFILE"]).map(PathBuf::from)
    }

    /// A path setting with a leading `~` expanded, as the AWS SDKs do.
    pub(crate) fn path(&self, key: &str) -> Option<PathBuf> {
        let value = self.get(key)?;
        match value
            .strip_prefix("~/")
            .or_else(|| value.strip_prefix("~\\"))
        {
            Some(rest) => self.home().map(|h| h.join(rest)),
            None if value == "~" => self.home(),
            None => Some(PathBuf::from(value)),
        }
    }

    /// Every variable, for handing the AWS SDK the same environment we read.
    pub(crate) fn vars(&self) -> &HashMap<String, String> {
        &self.vars
    }

    /// The same environment without some variables (e.g. the key pair when `--profile`
    /// must win over it).
    pub(crate) fn without(&self, keys: &[&str]) -> Env {
        let mut env = self.clone();
        Arc::make_mut(&mut env.vars).retain(|k, _| !keys.contains(&k.as_str()));
        env
    }

    /// A setting in whole seconds (`None` when unset); anything else is a config error.
    pub(crate) fn seconds(&self, key: &str) -> crate::error::Result<Option<std::time::Duration>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match value.trim().parse::<u64>() {
            Ok(n) if n <= 86_400 => Ok(Some(std::time::Duration::from_secs(n))),
            _ => Err(crate::error::Error::Config(format!(
                "{key}={value:?} is not a number of seconds (0 to 86400); fix or unset it"
            ))),
        }
    }

    /// The first executable file called `name` in the folders of PATH (with `.exe` on
    /// Windows).
    pub(crate) fn find_program(&self, name: &str) -> Option<PathBuf> {
        let file = if cfg!(windows) {
            format!("{name}.exe")
        } else {
            name.to_string()
        };
        std::env::split_paths(self.get("PATH")?)
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join(&file))
            .find(|p| is_executable(p))
    }

    /// This program's absolute path, symlinks resolved (what kubeconfig's `command` names).
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn current_exe(&self) -> std::io::Result<PathBuf> {
        match &self.exe {
            Some(p) => Ok(p.clone()),
            None => std::env::current_exe().and_then(|p| p.canonicalize()),
        }
    }
}

fn is_executable(p: &std::path::Path) -> bool {
    let Ok(meta) = std::fs::metadata(p) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    meta.is_file()
}

/// Whether `EKSOP_AUTH_FAULT` names this fault point (debug builds only; see
/// `fsutil::fault_point`).
#[cfg(debug_assertions)]
#[allow(clippy::disallowed_methods)]
pub(crate) fn fault_requested(name: &str) -> bool {
    std::env::var("EKSOP_AUTH_FAULT").is_ok_and(|v| v.split(',').any(|f| f == name))
}

#[cfg(test)]
mod tests {
    use super::Env;
    use std::path::PathBuf;

    #[test]
    fn paths_expand_tilde_and_empty_is_unset() {
        let env = Env::from_pairs([("HOME", "/h"), ("A", "~/x/y"), ("B", "/abs"), ("C", "")]);
        assert_eq!(env.path("A"), Some(PathBuf::from("/h/x/y")));
        assert_eq!(env.path("B"), Some(PathBuf::from("/abs")));
        assert_eq!(env.get("C"), None);
        assert_eq!(env.first(&["C", "B"]), Some("/abs"));
        assert_eq!(Env::from_pairs([("F", "TRUE")]).flag("F"), Some(true));
        assert_eq!(env.without(&["B"]).get("B"), None);
    }
}
