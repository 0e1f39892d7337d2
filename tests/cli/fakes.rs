//! Handles on the test peers in tests/support/fakeaws.py. Each starts on a free port on
//! 127.0.0.1, is waited for by reading its ready line (bounded), and is killed on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::{Output, repo_root, run_with_input};

const READY_TIMEOUT: Duration = Duration::from_secs(30);

pub fn fakeaws_script() -> String {
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
