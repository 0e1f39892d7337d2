//! A just-style `Test` builder around the real binary. Every run starts from an empty
//! environment (no inherited `AWS_*`, no `KUBERNETES_EXEC_INFO`), with HOME, the AWS config
//! files and the cache dir inside a fresh temp dir, and instance metadata disabled.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_eksop-auth");
pub const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// The 336-character example session token from the AWS documentation.
pub const SESSION_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
/// Every process a test starts must finish within this.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// What to install for each program the tests run (./scripts/test installs them all).
const TOOLS: &[(&str, &str)] = &[
    ("kubectl", "the Debian package `kubectl`"),
    ("aws", "the PyPI package `awscli`"),
    ("cfn-lint", "the PyPI package `cfn-lint`"),
    ("faketime", "the Debian package `faketime`"),
    ("keyctl", "the Debian package `keyutils`"),
    ("secret-tool", "the Debian package `libsecret-tools`"),
    ("python3", "the Debian package `python3`"),
    ("dbus-daemon", "the Debian package `dbus`"),
    ("dbus-send", "the Debian package `dbus`"),
    ("gnome-keyring-daemon", "the Debian package `gnome-keyring`"),
    ("setpriv", "the Debian package `util-linux`"),
    ("setsid", "the Debian package `util-linux`"),
    ("Xvfb", "the Debian package `xvfb`"),
    ("zenity", "the Debian package `zenity`"),
    ("xdotool", "the Debian package `xdotool`"),
    ("import", "the Debian package `imagemagick`"),
    ("identify", "the Debian package `imagemagick`"),
    ("shellcheck", "the Debian package `shellcheck`"),
];

/// Fails the test with what to install when `program` is not on PATH.
#[track_caller]
pub fn need(program: &str) {
    if program.contains('/') {
        return;
    }
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()));
    if !found {
        let hint = TOOLS
            .iter()
            .find(|(p, _)| *p == program)
            .map_or("see ./scripts/test", |(_, h)| h);
        panic!(
            "this test needs `{program}`, which is not on PATH: install {hint}, or run \
             ./scripts/test, which installs every test dependency"
        );
    }
}

/// Fails the test with what to install when python3 cannot import `module`.
#[track_caller]
pub fn need_python_module(module: &str, package: &str) {
    need("python3");
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "this test needs the Python module `{module}`: install the PyPI package `{package}` \
         (python3 -m pip install '{package}'), or run ./scripts/test, which installs every \
         test dependency"
    );
}

/// The repository root (for tests/support scripts).
/// Whether the tests run as root (CI does: acting as another user, owning files as one).
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// For a test that must act as root: `false` (the test then does nothing) when not root,
/// which CI never allows.
#[allow(clippy::print_stderr)] // says why the test did nothing
pub fn root_or_skip(why: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run this test as root: {why}"
    );
    eprintln!("skipped: {why} needs root (CI runs the suite as root)");
    false
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A hermetic home directory plus the environment every command in a test gets.
pub struct Home {
    pub dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
    /// A profile name no other test (and no real user) has: kernel-keyring items are
    /// shared by every process of the user, so names must not collide.
    pub profile: String,
}

/// The source IAM user's keys that the fake STS knows.
pub const SRC_AKID: &str = "AKIASOURCEKEY0000000";
pub const SRC_SECRET: &str = "source-secret-access-key-for-tests";
pub const SRC_ARN: &str = "arn:aws:iam::123456789012:user/alice";
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/eks-operator";
pub const MFA_SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";

static NEXT_PROFILE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Home {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("eksop-test-")
            .tempdir()
            .expect("temp dir");
        let home = dir.path();
        std::fs::create_dir_all(home.join(".aws")).unwrap();
        let mut env = BTreeMap::new();
        // The one thing a test inherits: where kubectl, aws and faketime are.
        let path = std::env::var("PATH").unwrap_or_default();
        for (k, v) in [
            ("PATH", path.as_str()),
            ("HOME", home.to_str().unwrap()),
            ("LANG", "C.UTF-8"),
            ("TZ", "UTC"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            (
                "AWS_CONFIG_FILE",
                home.join(".aws/config").to_str().unwrap(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                home.join(".aws/credentials").to_str().unwrap(),
            ),
            ("XDG_CACHE_HOME", home.join(".cache").to_str().unwrap()),
            ("XDG_CONFIG_HOME", home.join(".config").to_str().unwrap()),
            ("KUBECONFIG", home.join(".kube/config").to_str().unwrap()),
            // Sessions go to a private file store unless a test chooses a keyring, and no
            // process can reach the developer's session bus.
            ("EKSOP_AUTH_STORE", "file"),
            ("XDG_RUNTIME_DIR", home.join("run").to_str().unwrap()),
            (
                "DBUS_SESSION_BUS_ADDRESS",
                &format!("unix:path={}", home.join("no-bus").display()),
            ),
        ] {
            env.insert(k.to_string(), v.to_string());
        }
        let n = NEXT_PROFILE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let profile = format!("eksop-test-{}-{n}", std::process::id());
        Home { dir, env, profile }
    }

    /// `~/.aws/config` with a source profile (the fake STS's known keys) and the
    /// eks-operator profile `self.profile`; `extra` lines go into the latter. STS calls go
    /// to `sts_url`.
    pub fn operator_profile(&mut self, sts_url: &str, extra: &str) -> &mut Self {
        let config = format!(
            "# my settings\n[default]\nregion = us-east-1\n\n[profile src]\naws_access_key_id = {SRC_AKID}\naws_secret_access_key = {SRC_SECRET}\n\n\
             [profile {}]\nrole_arn = {ROLE_ARN}\nmfa_serial = {MFA_SERIAL}\nsource_profile = src\nregion = eu-west-1\n{extra}\n",
            self.profile
        );
        self.write(".aws/config", &config);
        self.set("AWS_ENDPOINT_URL_STS", sts_url)
    }

    /// An `mfa_process` line that prints a code no other home of this test binary gets
    /// (a fake STS shared by several homes accepts each code once), counting its runs.
    pub fn unique_mfa_process(&self) -> String {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(410_000);
        let code = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.counting_mfa_process(&code.to_string())
    }

    /// An `mfa_process` line that prints `code` and counts its runs in `mfa-runs`.
    pub fn counting_mfa_process(&self, code: &str) -> String {
        format!(
            "mfa_process = echo run >> {}/mfa-runs; echo {code}",
            self.path().display()
        )
    }

    /// An `mfa_process` line that prints a new code each run (700001, 700002, …), as a
    /// real device does from one 30-second step to the next.
    pub fn counting_distinct_mfa_process(&self) -> String {
        let f = self.path().join("mfa-runs");
        format!(
            "mfa_process = echo run >> {0}; printf '7%05d\\n' $(wc -l < {0})",
            f.display()
        )
    }

    pub fn mfa_runs(&self) -> usize {
        std::fs::read_to_string(self.path().join("mfa-runs"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The key this home's profile is filed under (see `record_key`).
    pub fn record_key(&self) -> String {
        record_key(&self.profile)
    }

    /// The kernel-keyring key this home's session goes by: the description has the
    /// installation (a hash of the cache dir) and the record key.
    pub fn kernel_description(&self) -> String {
        use sha2::{Digest, Sha256};
        let root = self.path().join(".cache/eksop-auth");
        let mut h = Sha256::new();
        h.update(b"eksop-auth\0installation\0");
        h.update(root.to_string_lossy().as_bytes());
        let installation: String = h.finalize()[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("eksop-auth:session:{installation}:{}", self.record_key())
    }

    /// The file store's record for this home's profile.
    pub fn store_file(&self) -> PathBuf {
        self.cache_file("store", "json")
    }

    /// The metadata beside it.
    pub fn meta_file(&self) -> PathBuf {
        self.cache_file("sessions", "json")
    }

    fn cache_file(&self, area: &str, ext: &str) -> PathBuf {
        self.path()
            .join(".cache/eksop-auth")
            .join(area)
            .join(format!("{}.{ext}", self.record_key()))
    }

    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    pub fn unset(&mut self, key: &str) -> &mut Self {
        self.env.remove(key);
        self
    }

    /// Static test keys in the environment.
    pub fn with_env_keys(&mut self) -> &mut Self {
        self.set("AWS_ACCESS_KEY_ID", AKID)
            .set("AWS_SECRET_ACCESS_KEY", SECRET)
    }

    pub fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// A command with exactly this home's environment.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        need(&program.as_ref().to_string_lossy());
        let mut c = Command::new(program);
        c.env_clear().envs(&self.env).current_dir(self.path());
        c
    }

    pub fn eksop(&self, args: &[&str]) -> Command {
        let mut c = self.command(BIN);
        c.args(args);
        c
    }
}

/// The result of a finished process.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    #[track_caller]
    pub fn success(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn failure(&self) -> &Self {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "expected failure\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {:?}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs a command to completion with stdin closed (or fed `input`), killing it after
/// `PROCESS_TIMEOUT` so a hang fails the test instead of stalling the suite.
pub fn run(cmd: &mut Command) -> Output {
    run_with_input(cmd, None)
}

/// Starts every command at once and waits for all (each bounded by `PROCESS_TIMEOUT`).
pub fn run_all(cmds: Vec<Command>) -> Vec<Output> {
    let handles: Vec<_> = cmds
        .into_iter()
        .map(|mut c| std::thread::spawn(move || run(&mut c)))
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("runner thread"))
        .collect()
}

pub fn run_with_input(cmd: &mut Command, input: Option<&str>) -> Output {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    if let Some(input) = input {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).ok();
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).ok();
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > PROCESS_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {PROCESS_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        code: status.code(),
        stdout: out_thread.join().unwrap(),
        stderr: err_thread.join().unwrap(),
    }
}

/// The fixed-length key a profile's session is filed under in every store, written here
/// independently of src/cache.rs `key`: 32 hex digits of SHA-256("eksop-auth" NUL
/// "session" NUL profile).
pub fn record_key(profile: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"eksop-auth\0session\0");
    h.update(profile.as_bytes());
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Decodes a `k8s-aws-v1.` token into its presigned URL.
pub fn token_url(token: &str) -> String {
    use base64::Engine as _;
    let b64 = token.strip_prefix("k8s-aws-v1.").expect("token prefix");
    String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64)
            .unwrap(),
    )
    .unwrap()
}
