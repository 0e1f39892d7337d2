//! Every kubectl a company still runs, against the token-verifying API server: kubectl 1.20
//! (v1alpha1 exec entries, `spec:{}` exec info, its terminal), the system kubectl, and
//! kubectl 1.37. The older and newer kubectl come from the test cache `scripts/test` fills.

use std::path::PathBuf;

use crate::fakes::{FakeAws, FakeAwsOptions, kubeconfig};
use crate::harness::{BIN, Home, repo_root, run};

/// A test client from the test cache; a missing one fails with what fills the cache.
pub fn cached_client(rel: &str) -> PathBuf {
    let cache = std::env::var_os("EKSOP_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/test-cache"));
    let path = cache.join(rel);
    assert!(
        path.is_file(),
        "this test needs {} from the test cache; ./scripts/test installs it there",
        path.display()
    );
    path
}

fn kubectl_1_20() -> PathBuf {
    cached_client("kubectl-1.20/usr/bin/kubectl")
}

fn kubectl_1_37() -> PathBuf {
    cached_client("kubectl-1.37/bin/kubectl")
}

fn operator_home(sts: &FakeAws, extra: &str, exec_api: &str) -> Home {
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), extra);
    let args = ["token", "--cluster", "prod", "--profile", &home.profile];
    home.write(
        ".kube/config",
        &kubeconfig(sts.apiserver_url(), sts.ca_data(), BIN, &args, exec_api),
    );
    home
}

fn version(home: &Home, kubectl: &std::path::Path) -> crate::harness::Output {
    run(home.command(kubectl).args(["get", "--raw", "/version"]))
}

#[test]
fn kubectl_1_20_with_a_v1alpha1_entry() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = operator_home(
        &sts,
        "mfa_process = echo 246813",
        "client.authentication.k8s.io/v1alpha1",
    );
    let out = version(&home, &kubectl_1_20());
    assert!(
        out.success().stdout.contains("v1.32.0-eksop-fake"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("deprecated API version"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("update eksop-auth"), "{}", out.stderr);
    let decisions = sts.apiserver_log();
    assert!(decisions.iter().any(|d| d["ok"] == true), "{decisions:?}");
}

#[test]
fn kubectl_1_20_hands_over_its_terminal_without_saying_so() {
    // kubectl 1.20 sends `"spec":{}` for v1beta1 and passes its terminal to the plugin: the
    // prompt must appear there (before, it failed as if kubectl had said "no terminal").
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            mfa_codes: &["135792"],
            ..Default::default()
        },
    );
    let home = operator_home(&sts, "", "client.authentication.k8s.io/v1beta1");
    let mut cmd = home.command(kubectl_1_20());
    cmd.args(["get", "--raw", "/version"]);
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).expect("kubectl 1.20 in a pty");
    p.exp_string("MFA code for").unwrap();
    p.send_line("135792").unwrap();
    p.exp_string("v1.32.0-eksop-fake").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(sts.assume_role_calls().len(), 1);
}

#[test]
fn kubectl_1_37_and_the_system_kubectl() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = operator_home(
        &sts,
        "mfa_process = echo 975312",
        "client.authentication.k8s.io/v1",
    );
    for kubectl in [kubectl_1_37(), PathBuf::from("kubectl")] {
        let out = version(&home, &kubectl);
        assert!(
            out.success().stdout.contains("v1.32.0-eksop-fake"),
            "{}: {}",
            kubectl.display(),
            out.stderr
        );
    }
    assert_eq!(sts.assume_role_calls().len(), 1, "one login for both");
}

#[test]
fn other_clients_are_named_neutrally_when_they_give_no_terminal() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "");
    // What the Python client sends when its stdout is not a terminal.
    home.set(
        "KUBERNETES_EXEC_INFO",
        r#"{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential", "spec": {"interactive": false}}"#,
    );
    let out = run(&mut home.eksop(&["token", "--cluster", "prod", "--profile", &home.profile]));
    assert!(
        out.failure().stderr.contains("the calling program (kubectl or another Kubernetes client) did not hand over a terminal"),
        "{}",
        out.stderr
    );
}
