//! Handles on the test peers in tests/support/fakeaws.py. Each starts on a free port on
//! 127.0.0.1, is waited for by reading its ready line (bounded), and is killed on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::{Output, repo_root, run_with_input};

const READY_TIMEOUT: Duration = Duration::from_secs(30);

pub fn fakeaws_script() -> String {
    crate::harness::need_python_module("cryptography", "cryptography");
    repo_root()
        .join("tests/support/fakeaws.py")
        .to_string_lossy()
        .into_owned()
}

/// A child process that is killed and reaped when dropped, even if the test panics.
pub struct Peer {
    child: Child,
    pub ready: serde_json::Value,
    pub state: tempfile::TempDir,
}

impl Peer {
    /// Starts `cmd`, whose first stdout line is a JSON object announcing readiness.
    pub fn start(mut cmd: Command, state: tempfile::TempDir) -> Peer {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut peer = Peer {
            child,
            ready: serde_json::Value::Null,
            state,
        };
        let line = rx
            .recv_timeout(READY_TIMEOUT)
            .unwrap_or_else(|_| panic!("{cmd:?} not ready within {READY_TIMEOUT:?}"));
        peer.ready =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{cmd:?} said {line:?}: {e}"));
        peer
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The HTTPS fake EKS API server that verifies bearer tokens.
pub struct ApiServer {
    pub peer: Peer,
}

impl ApiServer {
    /// `keys`: (access key id, secret) pairs whose signatures it accepts.
    pub fn start(cluster: &str, keys: &[(&str, &str)]) -> ApiServer {
        let state = tempfile::Builder::new()
            .prefix("eksop-apiserver-")
            .tempdir()
            .unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(fakeaws_script())
            .args(["serve", "--cluster", cluster, "--state-dir"])
            .arg(state.path());
        for (id, secret) in keys {
            cmd.arg("--key").arg(format!("{id}={secret}"));
        }
        ApiServer {
            peer: Peer::start(cmd, state),
        }
    }

    pub fn url(&self) -> &str {
        self.peer.ready["apiserver"].as_str().unwrap()
    }

    pub fn ca_data(&self) -> &str {
        self.peer.ready["ca_data"].as_str().unwrap()
    }

    /// Every authentication decision so far.
    pub fn log(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.peer.state.path().join("apiserver.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Options for the fake STS + API server process.
#[derive(Default)]
pub struct FakeAwsOptions<'a> {
    pub mfa_codes: &'a [&'a str],
    pub deny_assume: bool,
    pub max_session_duration: Option<u32>,
    pub faults: &'a [&'a str],
    pub hang_seconds: f32,
    /// More IAM users the STS knows: (access key id, secret, ARN).
    pub users: &'a [(&'a str, &'a str, &'a str)],
    /// A role whose trust policy does not allow sts:SetSourceIdentity.
    pub no_set_source_identity: bool,
    /// A role that accepts any RoleSessionName (by default, only the caller's user name).
    pub any_session_name: bool,
    /// The API server's aws-auth mapRoles, `ROLE=TEMPLATE` (`ROLE=-`: not mapped).
    pub map_roles: &'a [&'a str],
}

/// The fake STS (plain HTTP) and the token-verifying API server (HTTPS) in one process, so
/// sessions the STS issues are accepted by the API server.
pub struct FakeAws {
    pub peer: Peer,
}

impl FakeAws {
    pub fn start(cluster: &str, opts: &FakeAwsOptions<'_>) -> FakeAws {
        let state = tempfile::Builder::new()
            .prefix("eksop-fakeaws-")
            .tempdir()
            .unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(fakeaws_script())
            .args(["serve", "--sts", "--cluster", cluster, "--state-dir"])
            .arg(state.path())
            .arg("--key")
            .arg(format!(
                "{}={}={}",
                crate::harness::SRC_AKID,
                crate::harness::SRC_SECRET,
                crate::harness::SRC_ARN
            ));
        for (id, secret, arn) in opts.users {
            cmd.arg("--key").arg(format!("{id}={secret}={arn}"));
        }
        for code in opts.mfa_codes {
            cmd.args(["--mfa-code", code]);
        }
        if opts.deny_assume {
            cmd.arg("--deny-assume");
        }
        if let Some(max) = opts.max_session_duration {
            cmd.args(["--max-session-duration", &max.to_string()]);
        }
        for fault in opts.faults {
            cmd.args(["--fault", fault]);
        }
        if opts.hang_seconds > 0.0 {
            cmd.args(["--hang", &opts.hang_seconds.to_string()]);
        }
        if opts.no_set_source_identity {
            cmd.arg("--no-set-source-identity");
        }
        if opts.any_session_name {
            cmd.arg("--no-trust-session-name");
        }
        for m in opts.map_roles {
            cmd.args(["--map-role", m]);
        }
        FakeAws {
            peer: Peer::start(cmd, state),
        }
    }

    pub fn sts_url(&self) -> &str {
        self.peer.ready["sts"].as_str().unwrap()
    }

    pub fn apiserver_url(&self) -> &str {
        self.peer.ready["apiserver"].as_str().unwrap()
    }

    pub fn ca_data(&self) -> &str {
        self.peer.ready["ca_data"].as_str().unwrap()
    }

    fn jsonl(&self, name: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.peer.state.path().join(name))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Every STS request so far.
    pub fn sts_log(&self) -> Vec<serde_json::Value> {
        self.jsonl("sts.jsonl")
    }

    /// The AssumeRole requests so far.
    pub fn assume_role_calls(&self) -> Vec<serde_json::Value> {
        self.sts_log()
            .into_iter()
            .filter(|e| e["action"] == "AssumeRole")
            .collect()
    }

    /// Every authentication decision of the API server so far.
    pub fn apiserver_log(&self) -> Vec<serde_json::Value> {
        self.jsonl("apiserver.jsonl")
    }
}

/// moto's server on a free port.
pub struct Moto {
    pub peer: Peer,
}

impl Moto {
    pub fn start() -> Moto {
        crate::harness::need_python_module("moto.server", "moto[server]");
        let state = tempfile::Builder::new()
            .prefix("eksop-moto-")
            .tempdir()
            .unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(fakeaws_script())
            .arg("moto")
            .env("HOME", state.path());
        Moto {
            peer: Peer::start(cmd, state),
        }
    }

    pub fn url(&self) -> &str {
        self.peer.ready["url"].as_str().unwrap()
    }
}

/// A private D-Bus session with an unlocked gnome-keyring Secret Service in it.
pub struct SecretService {
    dbus: Child,
    keyring: Option<Child>,
    pub dir: tempfile::TempDir,
    pub address: String,
}

impl SecretService {
    pub fn start() -> SecretService {
        crate::harness::need("dbus-daemon");
        crate::harness::need("gnome-keyring-daemon");
        let dir = tempfile::Builder::new()
            .prefix("eksop-dbus-")
            .tempdir()
            .unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let mut cmd = Command::new("dbus-daemon");
        cmd.args(["--session", "--nofork", "--print-address=1"])
            .arg(format!(
                "--address=unix:path={}",
                dir.path().join("bus").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut dbus = cmd.spawn().expect("dbus-daemon (apt-get install dbus)");
        let stdout = dbus.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let address = rx
            .recv_timeout(READY_TIMEOUT)
            .expect("dbus-daemon address")
            .trim()
            .to_string();
        let mut ss = SecretService {
            dbus,
            keyring: None,
            dir,
            address,
        };
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .envs(ss.env())
            .env("HOME", ss.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (apt-get install gnome-keyring)");
        {
            use std::io::Write;
            let mut stdin = keyring.stdin.take().unwrap();
            stdin.write_all(b"test-keyring-password").unwrap();
        }
        ss.keyring = Some(keyring);
        let start = std::time::Instant::now();
        loop {
            let out = Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                ])
                .args([
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .envs(ss.env())
                .output()
                .expect("dbus-send");
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                break;
            }
            assert!(
                start.elapsed() < READY_TIMEOUT,
                "gnome-keyring did not take the Secret Service name"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        ss
    }

    /// What a process needs to talk to this Secret Service.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone()),
            (
                "XDG_RUNTIME_DIR".into(),
                self.dir.path().join("run").display().to_string(),
            ),
            (
                "XDG_DATA_HOME".into(),
                self.dir.path().join("data").display().to_string(),
            ),
        ]
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        if let Some(k) = &mut self.keyring {
            let _ = k.kill();
            let _ = k.wait();
        }
        let _ = self.dbus.kill();
        let _ = self.dbus.wait();
    }
}

/// Checks a token with the independent verifier; `Ok(identity)` or `Err(reason)`.
pub fn verify_token(
    token: &str,
    cluster: &str,
    keys: &[(&str, &str)],
    extra: &[&str],
) -> Result<serde_json::Value, String> {
    let mut cmd = Command::new("python3");
    cmd.arg(fakeaws_script())
        .args(["verify", "--cluster", cluster])
        .args(extra);
    for (id, secret) in keys {
        cmd.arg("--key").arg(format!("{id}={secret}"));
    }
    let out: Output = run_with_input(&mut cmd, Some(token));
    if out.code == Some(0) {
        Ok(serde_json::from_str(&out.stdout).unwrap())
    } else {
        Err(format!("{}{}", out.stdout, out.stderr))
    }
}

impl FakeAws {
    /// Writes `home`'s kubeconfig: one user running `eksop-auth token --cluster prod
    /// --profile <home.profile>` (plus `extra` args) against this API server.
    pub fn write_operator_kubeconfig(&self, home: &crate::harness::Home, extra: &[&str]) {
        let mut args = vec!["token", "--cluster", "prod", "--profile", &home.profile];
        args.extend_from_slice(extra);
        home.write(
            ".kube/config",
            &kubeconfig(
                self.apiserver_url(),
                self.ca_data(),
                crate::harness::BIN,
                &args,
                "client.authentication.k8s.io/v1beta1",
            ),
        );
    }
}

/// The URL of a port on 127.0.0.1 where nothing listens.
pub fn dead_endpoint() -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    url
}

/// A kubeconfig whose only user runs `eksop-auth` through an exec block.
pub fn kubeconfig(
    server: &str,
    ca_data: &str,
    command: &str,
    args: &[&str],
    exec_api: &str,
) -> String {
    let args = args
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca_data}\n\
         users:\n- name: u\n  user:\n    exec:\n      apiVersion: {exec_api}\n      command: {command}\n      args: [{args}]\n      interactiveMode: IfAvailable\n\
         contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\ncurrent-context: ctx\n"
    )
}
