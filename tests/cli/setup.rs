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
    create_moto_cluster_in(moto, home, "demo", "eu-west-1");
}

fn create_moto_cluster_in(moto: &Moto, home: &Home, name: &str, region: &str) {
    let out = run(home
        .command("aws")
        .args([
            "eks",
            "create-cluster",
            "--name",
            name,
            "--region",
            region,
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

/// moto's EKS with alpha and gamma in eu-west-1 and beta in us-east-1, the fake STS (whose
/// one API server stands in for all three), and a home whose mfa_process prints `code`.
fn three_clusters(code: &str) -> (Moto, FakeAws, Home) {
    let moto = Moto::start();
    let sts = FakeAws::start("alpha,beta,gamma", &FakeAwsOptions::default());
    let mut home = Home::new();
    let mfa = home.counting_mfa_process(code);
    home.operator_profile(sts.sts_url(), &mfa)
        .set("AWS_ENDPOINT_URL_EKS", moto.url());
    for (name, region) in [
        ("alpha", "eu-west-1"),
        ("beta", "us-east-1"),
        ("gamma", "eu-west-1"),
    ] {
        create_moto_cluster_in(&moto, &home, name, region);
    }
    (moto, sts, home)
}

#[test]
fn setup_all_clusters_in_two_regions_with_one_assume_role() {
    // moto's EKS lists and describes the clusters; the fake STS issues the one session;
    // one token-verifying API server stands in for all three clusters.
    let (_moto, sts, home) = three_clusters("424242");
    let setup = |extra: &[&str]| {
        let mut args = vec![
            "setup",
            "--all-clusters",
            "--regions",
            "eu-west-1,us-east-1",
            "--profile",
            &home.profile,
            "--alias",
            "{cluster}",
        ];
        args.extend_from_slice(extra);
        run(&mut home.eksop(&args))
    };
    let out = setup(&[]);
    assert!(
        out.success().stderr.contains("3 clusters, shared user"),
        "{}",
        out.stderr
    );
    assert_eq!(
        sts.assume_role_calls().len(),
        1,
        "one AssumeRole for every cluster"
    );
    assert_eq!(home.mfa_runs(), 1, "one MFA code");
    let dry = setup(&["--dry-run"]);
    assert!(
        dry.success().stderr.contains(
            "3 cluster(s) to set up: alpha (eu-west-1), gamma (eu-west-1), beta (us-east-1)"
        ) && dry.stdout.contains("no changes"),
        "{}{}",
        dry.stderr,
        dry.stdout
    );

    // kubectl reads what setup wrote (it sorts by name): three contexts, one user per region.
    let view = run(home
        .command("kubectl")
        .args(["config", "view", "-o", "json", "--raw"]));
    let v: serde_json::Value = serde_json::from_str(&view.success().stdout).unwrap();
    let contexts: Vec<_> = v["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["context"]["user"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let user = |r: &str| format!("eksop-auth:{}:{r}", home.profile);
    assert_eq!(
        contexts,
        [
            ("alpha".to_string(), user("eu-west-1")),
            ("beta".to_string(), user("us-east-1")),
            ("gamma".to_string(), user("eu-west-1"))
        ]
    );
    assert_eq!(v["users"].as_array().unwrap().len(), 2);

    // Point the three clusters at the API server (moto's endpoints lead nowhere), and
    // kubectl reaches each with a token signed for that cluster.
    let path = home.path().join(".kube/config");
    let mut doc: serde_json::Value =
        serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for c in doc["clusters"].as_array_mut().unwrap() {
        c["cluster"]["server"] = sts.apiserver_url().into();
        c["cluster"]["certificate-authority-data"] = sts.ca_data().into();
    }
    home.write(".kube/config", &serde_norway::to_string(&doc).unwrap());
    for name in ["alpha", "beta", "gamma"] {
        let out =
            run(home
                .command("kubectl")
                .args(["--context", name, "get", "--raw", "/version"]));
        assert!(
            out.success().stdout.contains("v1.32.0-eksop-fake"),
            "{name}: {}",
            out.stderr
        );
    }
    let mut seen: Vec<_> = sts
        .apiserver_log()
        .iter()
        .filter(|e| e["ok"] == true)
        .map(|e| e["cluster"].as_str().unwrap().to_string())
        .collect();
    seen.dedup();
    assert_eq!(
        seen,
        ["alpha", "beta", "gamma"],
        "each with a token for itself"
    );
    assert_eq!(sts.assume_role_calls().len(), 1, "still the one session");
    // doctor finds the shared user of `beta` and asks that cluster who we are.
    let doctor = run(&mut home.eksop(&["doctor", "--profile", &home.profile, "--cluster", "beta"]));
    assert!(
        doctor.success().stdout.contains(&format!(
            "ok    kubeconfig: user `eksop-auth:{}:us-east-1`",
            home.profile
        )) && doctor.stdout.contains("says you are `eks-operator:alice`"),
        "{}",
        doctor.stdout
    );
}

#[test]
fn setup_on_a_terminal_without_a_cluster_offers_the_clusters_found() {
    let (_moto, sts, home) = three_clusters("434343");
    let cmd = home.eksop(&[
        "setup",
        "--profile",
        &home.profile,
        "--regions",
        "eu-west-1,us-east-1",
        "--alias",
        "{cluster}",
    ]);
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn setup in a pty");
    p.exp_string("Clusters to set up").unwrap();
    p.exp_string("beta (us-east-1)").unwrap();
    // Every cluster is ticked: untick the second (gamma), then confirm.
    p.send("\x1b[B").unwrap();
    p.send(" ").unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
    let rest = p.exp_eof().unwrap();
    assert!(rest.contains("2 clusters, shared user"), "{rest}");
    let kube = std::fs::read_to_string(home.path().join(".kube/config")).unwrap();
    assert!(
        kube.contains("- name: alpha\n") && kube.contains("- name: beta\n"),
        "{kube}"
    );
    assert!(!kube.contains("cluster/gamma"), "{kube}");
    assert_eq!(sts.assume_role_calls().len(), 1);
}
