//! `eksop-auth setup` and `credential-process`: safe config writing, one session for kubectl
//! and aws-cli.

use crate::fakes::{FakeAws, FakeAwsOptions, Moto};
use crate::harness::{BIN, Home, MFA_SERIAL, ROLE_ARN, SRC_AKID, SRC_SECRET, run};

const AWS_CONFIG: &str = "\
# Team settings — do not remove
[default]
region = us-east-1
output = json

; the keys of my IAM user
[profile src]
aws_access_key_id = AKIASOURCEKEY0000000
aws_secret_access_key = source-secret-access-key-for-tests
s3 =
    max_concurrent_requests = 20
    multipart_threshold = 64MB

[profile other]
region = ap-south-1
";

const KUBECONFIG: &str = "\
apiVersion: v1
kind: Config
preferences: {}
clusters:
- name: alpha
  cluster:
    server: https://alpha.example:6443
    insecure-skip-tls-verify: true
- name: beta
  cluster:
    server: https://beta.example:6443
users:
- name: alpha-admin
  user:
    token: alpha-token
- name: beta-admin
  user:
    username: bob
    password: pw
contexts:
- name: alpha
  context:
    cluster: alpha
    user: alpha-admin
    namespace: kube-system
- name: beta
  context:
    cluster: beta
    user: beta-admin
current-context: alpha
";

fn read(home: &Home, rel: &str) -> String {
    std::fs::read_to_string(home.path().join(rel)).unwrap()
}

fn setup_args<'a>(home: &'a Home, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "setup",
        "--cluster",
        "demo",
        "--profile",
        &home.profile,
        "--source-profile",
        "src",
        "--role-arn",
        ROLE_ARN,
        "--mfa-serial",
        MFA_SERIAL,
        "--region",
        "eu-west-1",
    ];
    args.extend_from_slice(extra);
    args
}

fn create_moto_cluster(moto: &Moto, home: &Home) {
    let out = run(home
        .command("aws")
        .args([
            "eks",
            "create-cluster",
            "--name",
            "demo",
            "--region",
            "eu-west-1",
            "--endpoint-url",
            moto.url(),
        ])
        .args([
            "--role-arn",
            "arn:aws:iam::123456789012:role/eks-cluster",
            "--resources-vpc-config",
            "subnetIds=subnet-1",
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing"));
    out.success();
}

#[test]
fn setup_with_moto_keeps_everything_and_is_idempotent() {
    let moto = Moto::start();
    let mut home = Home::new();
    home.write(".aws/config", AWS_CONFIG);
    home.write(".kube/config", KUBECONFIG);
    home.set("AWS_ENDPOINT_URL_STS", moto.url())
        .set("AWS_ENDPOINT_URL_EKS", moto.url());
    create_moto_cluster(&moto, &home);
    let described = run(home
        .command("aws")
        .args([
            "eks",
            "describe-cluster",
            "--name",
            "demo",
            "--region",
            "eu-west-1",
            "--endpoint-url",
            moto.url(),
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing"))
    .json();
    let want_server = described["cluster"]["endpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let want_ca = described["cluster"]["certificateAuthority"]["data"]
        .as_str()
        .unwrap()
        .to_string();

    let out = run(&mut home.eksop(&setup_args(&home, &["--mfa-process", "echo 123456"])));
    out.success();
    assert!(out.stderr.contains("kubectl get nodes"), "{}", out.stderr);

    // Every original ~/.aws/config line is still there, in order.
    let config = read(&home, ".aws/config");
    assert!(
        config.starts_with(AWS_CONFIG),
        "the edit appended a new block:\n{config}"
    );
    for key in [
        "source_profile = src",
        &format!("role_arn = {ROLE_ARN}"),
        &format!("mfa_serial = {MFA_SERIAL}"),
        "duration_seconds = 43200",
        "region = eu-west-1",
        "mfa_process = echo 123456",
    ] {
        assert!(config.contains(key), "{key} missing:\n{config}");
    }

    let view = run(home
        .command("kubectl")
        .args(["config", "view", "--raw", "-o", "json"]))
    .json();
    let arn = "arn:aws:eks:eu-west-1:123456789012:cluster/demo";
    // kubectl lists entries sorted by name.
    let names = |list: &str| {
        let mut n = view[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>();
        n.sort();
        n
    };
    let item = |list: &str, name: &str| {
        view[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap_or_else(|| panic!("{list}/{name}"))
            .clone()
    };
    assert_eq!(names("clusters"), ["alpha", arn, "beta"]);
    assert_eq!(names("users"), ["alpha-admin", arn, "beta-admin"]);
    assert_eq!(names("contexts"), ["alpha", arn, "beta"]);
    assert_eq!(view["current-context"], arn);
    assert_eq!(
        item("clusters", "alpha")["cluster"]["insecure-skip-tls-verify"],
        true
    );
    assert_eq!(item("users", "alpha-admin")["user"]["token"], "alpha-token");
    assert_eq!(item("users", "beta-admin")["user"]["password"], "pw");
    assert_eq!(
        item("contexts", "alpha")["context"]["namespace"],
        "kube-system"
    );
    assert_eq!(item("contexts", arn)["context"]["user"], arn);
    let cluster = item("clusters", arn);
    assert_eq!(cluster["cluster"]["server"], want_server.as_str());
    assert_eq!(
        cluster["cluster"]["certificate-authority-data"],
        want_ca.as_str()
    );
    let user = item("users", arn);
    let exec = &user["user"]["exec"];
    assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1beta1");
    assert_eq!(
        exec["command"],
        std::fs::canonicalize(BIN).unwrap().to_str().unwrap()
    );
    assert_eq!(exec["interactiveMode"], "IfAvailable");
    let args: Vec<_> = exec["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "token",
            "--cluster",
            "demo",
            "--profile",
            &home.profile,
            "--region",
            "eu-west-1"
        ]
    );
    assert!(exec["installHint"].as_str().unwrap().contains("eksop-auth"));

    // A second run changes nothing, byte for byte; the backups exist once.
    let (aws_before, kube_before) = (read(&home, ".aws/config"), read(&home, ".kube/config"));
    run(&mut home.eksop(&setup_args(&home, &[]))).success();
    assert_eq!(read(&home, ".aws/config"), aws_before);
    assert_eq!(read(&home, ".kube/config"), kube_before);
    assert_eq!(read(&home, ".aws/config.eksop-auth.bak"), AWS_CONFIG);
    assert_eq!(read(&home, ".kube/config.eksop-auth.bak"), KUBECONFIG);

    // --dry-run shows a diff and changes nothing.
    let dry = run(&mut home.eksop(&setup_args(&home, &["--alias", "demo", "--dry-run"])));
    assert!(
        dry.success().stdout.contains("+current-context: demo"),
        "{}",
        dry.stdout
    );
    assert_eq!(read(&home, ".kube/config"), kube_before);
    assert_eq!(read(&home, ".aws/config"), aws_before);
    assert!(
        !dry.stdout.contains("alpha-token") && !dry.stdout.contains("password: pw"),
        "{}",
        dry.stdout
    );

    // A dry run never logs in: without a stored session it shows what DescribeCluster will
    // provide, and writes nothing.
    let other = run(&mut home.eksop(&[
        "setup",
        "--cluster",
        "demo",
        "--profile",
        "fresh-op",
        "--source-profile",
        "src",
        "--role-arn",
        ROLE_ARN,
        "--mfa-serial",
        MFA_SERIAL,
        "--region",
        "eu-west-1",
        "--dry-run",
    ]));
    assert!(
        other
            .success()
            .stdout
            .contains("server: \"<from EKS DescribeCluster at the first login>\""),
        "{}",
        other.stdout
    );
    assert_eq!(read(&home, ".aws/config"), aws_before);
}

#[test]
fn a_malformed_kubeconfig_is_refused_and_nothing_changes() {
    let mut home = Home::new();
    home.write(".aws/config", AWS_CONFIG);
    let bad = "apiVersion: v1\nclusters: [oops\n";
    home.write(".kube/config", bad);
    home.set("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9");
    let out = run(&mut home.eksop(&setup_args(
        &home,
        &[
            "--endpoint",
            "https://x",
            "--certificate-authority-data",
            "Q0E=",
        ],
    )));
    out.failure();
    assert!(
        out.stderr.contains("nothing was changed") && out.stderr.contains(".kube/config"),
        "{}",
        out.stderr
    );
    assert_eq!(read(&home, ".kube/config"), bad);
    assert_eq!(read(&home, ".aws/config"), AWS_CONFIG);
    assert!(!home.path().join(".aws/config.eksop-auth.bak").exists());
}

#[test]
fn setup_creates_missing_files_privately() {
    let mut home = Home::new();
    std::fs::remove_dir(home.path().join(".aws")).unwrap();
    home.set("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9");
    let out = run(&mut home.eksop(&setup_args(
        &home,
        &[
            "--endpoint",
            "https://x",
            "--certificate-authority-data",
            "Q0E=",
        ],
    )));
    out.success();
    use std::os::unix::fs::PermissionsExt;
    let mode = |rel: &str| {
        std::fs::metadata(home.path().join(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!((mode(".aws"), mode(".aws/config")), (0o700, 0o600));
    assert_eq!((mode(".kube"), mode(".kube/config")), (0o700, 0o600));
    let missing = run(&mut home.eksop(&[
        "setup",
        "--cluster",
        "demo",
        "--profile",
        "fresh",
        "--region",
        "eu-west-1",
    ]));
    assert!(
        missing.failure().stderr.contains("--source-profile"),
        "{}",
        missing.stderr
    );
}

#[test]
fn aws_cli_shares_the_session_through_credential_process() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    home.write(".aws/config", AWS_CONFIG);
    home.set("AWS_ENDPOINT_URL_STS", sts.sts_url());
    let mfa = home.counting_mfa_process("314159");
    let mfa_cmd = mfa.trim_start_matches("mfa_process = ").to_string();
    let args = setup_args(
        &home,
        &[
            "--endpoint",
            sts.apiserver_url(),
            "--certificate-authority-data",
            sts.ca_data(),
            "--cli-profile",
            "ops-cli",
            "--mfa-process",
            &mfa_cmd,
        ],
    );
    run(&mut home.eksop(&args)).success();
    let config = read(&home, ".aws/config");
    let cli_block = config.split("[profile ops-cli]").nth(1).unwrap();
    assert!(
        cli_block.contains("credential_process = ") && !cli_block.contains("role_arn"),
        "{config}"
    );

    run(&mut home.eksop(&["login", "--profile", &home.profile])).success();
    let who = run(home
        .command("aws")
        .args(["sts", "get-caller-identity", "--profile", "ops-cli"]))
    .json();
    assert_eq!(
        who["Arn"],
        "arn:aws:sts::123456789012:assumed-role/eks-operator/alice"
    );
    assert_eq!(
        sts.assume_role_calls().len(),
        1,
        "aws-cli used the stored session"
    );
    assert_eq!(home.mfa_runs(), 1);

    let out = run(&mut home.eksop(&["credential-process", "--profile", &home.profile]));
    let doc = out.success().json();
    assert_eq!(doc["Version"], 1);
    assert!(doc["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert!(doc["Expiration"].as_str().unwrap().ends_with('Z'));
    assert!(
        !out.stderr
            .contains(doc["SecretAccessKey"].as_str().unwrap())
    );
}

#[test]
fn credential_process_without_a_terminal_says_login() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "");
    let out = run(&mut home.eksop(&["credential-process", "--profile", &home.profile]));
    out.failure();
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr
            .contains(&format!("eksop-auth login --profile {}", home.profile)),
        "{}",
        out.stderr
    );
}

#[test]
fn the_whole_journey_setup_login_kubectl() {
    let sts = FakeAws::start("demo", &FakeAwsOptions::default());
    let mut home = Home::new();
    home.write(
        ".aws/config",
        &format!(
            "[profile src]\naws_access_key_id = {SRC_AKID}\naws_secret_access_key = {SRC_SECRET}\n"
        ),
    );
    home.set("AWS_ENDPOINT_URL_STS", sts.sts_url());
    let args = setup_args(
        &home,
        &[
            "--endpoint",
            sts.apiserver_url(),
            "--certificate-authority-data",
            sts.ca_data(),
            "--mfa-process",
            "echo 161803",
        ],
    );
    run(&mut home.eksop(&args)).success();
    let login = run(&mut home.eksop(&["login", "--profile", &home.profile]));
    assert!(
        login
            .success()
            .stderr
            .contains("Logged in as arn:aws:sts::123456789012:assumed-role/eks-operator/alice"),
        "{}",
        login.stderr
    );
    let out = run(home.command("kubectl").args(["get", "--raw", "/version"]));
    assert!(
        out.success().stdout.contains("v1.32.0-eksop-fake"),
        "{}",
        out.stdout
    );
    assert_eq!(sts.assume_role_calls().len(), 1);
}
