//! The operator kit (deploy/), the demo, `doctor`, completions, man page, help and version.

use std::time::{Duration, Instant};

use crate::fakes::{FakeAws, FakeAwsOptions, Moto, dead_endpoint, kubeconfig};
use crate::harness::{AKID, BIN, Home, Output, ROLE_ARN, SECRET, SRC_SECRET, repo_root, run};

pub(crate) fn deploy(file: &str) -> String {
    repo_root().join("deploy").join(file).display().to_string()
}

#[test]
fn cfn_lint_finds_nothing_in_the_role_template() {
    let home = Home::new();
    let out = run(home
        .command("cfn-lint")
        .arg(deploy("eks-operator-role.yaml")));
    assert_eq!(out.code, Some(0), "cfn-lint:\n{}{}", out.stdout, out.stderr);
    assert!(out.stdout.trim().is_empty(), "{}", out.stdout);
}

fn aws(home: &Home, moto: &Moto, args: &[&str]) -> Output {
    run(home
        .command("aws")
        .args(args)
        .args([
            "--endpoint-url",
            moto.url(),
            "--region",
            "us-east-1",
            "--output",
            "json",
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing"))
}

/// The role template as a stack in moto, with these `--parameters`.
pub(crate) fn create_stack(home: &Home, moto: &Moto, stack: &str, parameters: &[&str]) {
    let template = format!("file://{}", deploy("eks-operator-role.yaml"));
    let mut args = vec![
        "cloudformation",
        "create-stack",
        "--stack-name",
        stack,
        "--template-body",
        &template,
        "--capabilities",
        "CAPABILITY_NAMED_IAM",
        "--parameters",
    ];
    args.extend_from_slice(parameters);
    aws(home, moto, &args).success();
}

#[test]
fn the_role_template_deploys_into_moto() {
    let moto = Moto::start();
    let home = Home::new();
    for user in ["alice", "bob", "carol"] {
        aws(&home, &moto, &["iam", "create-user", "--user-name", user]).success();
    }
    for (stack, role, age, name_rule) in [
        ("ops", "eks-operator", "0", "true"),
        ("ops-aged", "eks-operator-aged", "3600", "true"),
        // While admins upgrade from clients that named sessions otherwise.
        ("ops-upgrading", "eks-operator-upgrading", "0", "false"),
    ] {
        create_stack(
            &home,
            &moto,
            stack,
            &[
                "ParameterKey=AdminUserNames,ParameterValue=alice\\,bob",
                &format!("ParameterKey=RoleName,ParameterValue={role}"),
                &format!("ParameterKey=MaxMfaAgeSeconds,ParameterValue={age}"),
                &format!("ParameterKey=SessionNameIsUserName,ParameterValue={name_rule}"),
            ],
        );
        let stacks = aws(
            &home,
            &moto,
            &["cloudformation", "describe-stacks", "--stack-name", stack],
        )
        .json();
        assert_eq!(stacks["Stacks"][0]["StackStatus"], "CREATE_COMPLETE");
        assert_eq!(
            stacks["Stacks"][0]["Outputs"][0]["OutputValue"],
            format!("arn:aws:iam::123456789012:role/{role}")
        );
        let got = aws(&home, &moto, &["iam", "get-role", "--role-name", role]).json();
        let r = &got["Role"];
        assert_eq!(r["MaxSessionDuration"], 43200);
        trust_policy_makes_the_names_unforgeable(
            &r["AssumeRolePolicyDocument"],
            name_rule == "true",
        );
        let stmt = &r["AssumeRolePolicyDocument"]["Statement"][0];
        assert_eq!(stmt["Action"], "sts:AssumeRole");
        assert_eq!(
            stmt["Condition"]["Bool"]["aws:MultiFactorAuthPresent"],
            "true"
        );
        assert_eq!(
            stmt["Condition"]["StringEquals"]["aws:username"],
            serde_json::json!(["alice", "bob"])
        );
        if age == "0" {
            assert!(stmt["Condition"].get("NumericLessThanEquals").is_none());
        } else {
            assert_eq!(
                stmt["Condition"]["NumericLessThanEquals"]["aws:MultiFactorAuthAge"]
                    .to_string()
                    .trim_matches('"'),
                "3600"
            );
        }
        let policies = aws(
            &home,
            &moto,
            &["iam", "list-role-policies", "--role-name", role],
        )
        .json();
        assert_eq!(policies["PolicyNames"], serde_json::json!(["eks-read"]));
    }
    for (user, attached) in [("alice", 3), ("bob", 3), ("carol", 0)] {
        let p = aws(
            &home,
            &moto,
            &["iam", "list-attached-user-policies", "--user-name", user],
        )
        .json();
        assert_eq!(
            p["AttachedPolicies"].as_array().unwrap().len(),
            attached,
            "{user}: {p}"
        );
    }
}

/// The trust policy as IAM holds it: sts:AssumeRole only under the user's own name, and
/// sts:SetSourceIdentity only with the user's own name, each for the listed users only.
fn trust_policy_makes_the_names_unforgeable(doc: &serde_json::Value, name_rule: bool) {
    let statements = doc["Statement"].as_array().unwrap();
    let find = |action: &str| {
        statements
            .iter()
            .find(|s| s["Action"] == action && s["Effect"] == "Allow")
            .unwrap_or_else(|| panic!("no statement allows {action}: {doc}"))
    };
    let users = serde_json::json!(["alice", "bob"]);
    let assume = &find("sts:AssumeRole")["Condition"]["StringEquals"];
    if name_rule {
        assert_eq!(assume["sts:RoleSessionName"], "${aws:username}", "{doc}");
    } else {
        assert!(assume.get("sts:RoleSessionName").is_none(), "{doc}");
    }
    assert_eq!(assume["aws:username"], users);
    let set = &find("sts:SetSourceIdentity")["Condition"]["StringEquals"];
    assert_eq!(set["sts:SourceIdentity"], "${aws:username}", "{doc}");
    assert_eq!(set["aws:username"], users);
    assert_eq!(statements.len(), 2, "nothing else is trusted: {doc}");
}

#[test]
fn the_users_policy_lets_them_assume_and_set_only_their_own_names() {
    let moto = Moto::start();
    let home = Home::new();
    aws(
        &home,
        &moto,
        &["iam", "create-user", "--user-name", "alice"],
    )
    .success();
    create_stack(
        &home,
        &moto,
        "ops",
        &["ParameterKey=AdminUserNames,ParameterValue=alice"],
    );
    let attached = aws(
        &home,
        &moto,
        &["iam", "list-attached-user-policies", "--user-name", "alice"],
    )
    .json();
    let arn = attached["AttachedPolicies"][0]["PolicyArn"]
        .as_str()
        .unwrap()
        .to_string();
    let policy = aws(&home, &moto, &["iam", "get-policy", "--policy-arn", &arn]).json();
    let version = policy["Policy"]["DefaultVersionId"].as_str().unwrap();
    let doc = aws(
        &home,
        &moto,
        &[
            "iam",
            "get-policy-version",
            "--policy-arn",
            &arn,
            "--version-id",
            version,
        ],
    )
    .json();
    let doc = &doc["PolicyVersion"]["Document"];
    let statements = doc["Statement"].as_array().unwrap();
    let role = "arn:aws:iam::123456789012:role/eks-operator";
    for (action, key) in [
        ("sts:AssumeRole", "sts:RoleSessionName"),
        ("sts:SetSourceIdentity", "sts:SourceIdentity"),
    ] {
        let s = statements
            .iter()
            .find(|s| s["Action"] == action)
            .unwrap_or_else(|| panic!("{action} missing: {doc}"));
        assert_eq!(s["Resource"], role, "{doc}");
        assert_eq!(
            s["Condition"]["StringEquals"][key], "${aws:username}",
            "{doc}"
        );
    }
}

#[test]
fn the_stopgap_policy_blocks_writes_by_the_named_sessions_only() {
    crate::harness::need_python_module("celpy", "cel-python");
    crate::harness::need_python_module("yaml", "PyYAML");
    let path = deploy("deny-session-writes.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let docs: Vec<serde_json::Value> = serde_norway::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let kinds: Vec<_> = docs.iter().map(|d| d["kind"].clone()).collect();
    assert_eq!(
        kinds,
        [
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding"
        ]
    );
    let rule = &docs[0]["spec"]["matchConstraints"]["resourceRules"][0];
    assert_eq!(
        rule["operations"],
        serde_json::json!(["CREATE", "UPDATE", "DELETE", "CONNECT"]),
        "writes and exec/attach/port-forward; reads never pass admission"
    );
    assert_eq!(docs[0]["spec"]["failurePolicy"], "Fail");
    assert_eq!(docs[1]["spec"]["policyName"], docs[0]["metadata"]["name"]);
    assert_eq!(
        docs[1]["spec"]["validationActions"],
        serde_json::json!(["Deny"])
    );
    for says in ["CANNOT stop", "reads", "Secrets", "delete this binding"] {
        assert!(
            text.contains(says),
            "the manifest says what it cannot do: {says}"
        );
    }
    let users = [
        ("eks-operator:mallory", false),
        (
            "arn:aws:sts::111122223333:assumed-role/eks-operator/mallory",
            false,
        ),
        ("eks-operator:alice", true),
        ("eks-operator:mallory2", true),
        (
            "arn:aws:sts::111122223333:assumed-role/eks-operator/alice",
            true,
        ),
        (
            "arn:aws:sts::111122223333:assumed-role/other-role/mallory",
            true,
        ),
        ("system:serviceaccount:kube-system:mallory", true),
    ];
    let names: Vec<&str> = users.iter().map(|(u, _)| *u).collect();
    let out = run(Home::new().command("python3").args([
        crate::harness::repo_root()
            .join("tests/support/vap_eval.py")
            .to_string_lossy()
            .into_owned(),
        path,
        r#"["mallory"]"#.into(),
        serde_json::to_string(&names).unwrap(),
    ]));
    let verdicts = out.success().json();
    for (user, allowed) in users {
        assert_eq!(verdicts[user]["allowed"], allowed, "{user}: {verdicts}");
        if !allowed {
            assert!(
                verdicts[user]["message"]
                    .as_str()
                    .unwrap()
                    .contains("is blocked from changing the cluster"),
                "{verdicts}"
            );
        }
    }
}

#[test]
fn the_aws_auth_configmap_is_read_by_kubectl() {
    let mut home = Home::new();
    home.with_env_keys().set("AWS_REGION", "eu-west-1");
    // kubectl needs discovery from a server, even for --dry-run=client: the fake API
    // server answers it for tokens signed with these keys.
    let api = crate::fakes::ApiServer::start("kit", &[(AKID, SECRET)]);
    home.write(
        ".kube/config",
        &kubeconfig(
            api.url(),
            api.ca_data(),
            BIN,
            &["token", "--cluster", "kit"],
            "client.authentication.k8s.io/v1beta1",
        ),
    );
    let out = run(home.command("kubectl").args([
        "create",
        "--dry-run=client",
        "--validate=false",
        "-o",
        "json",
        "-f",
        &deploy("aws-auth-configmap.yaml"),
    ]));
    let cm = out.success().json();
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(
        (
            cm["metadata"]["name"].as_str(),
            cm["metadata"]["namespace"].as_str()
        ),
        (Some("aws-auth"), Some("kube-system"))
    );
    let roles: serde_norway::Value =
        serde_norway::from_str(cm["data"]["mapRoles"].as_str().unwrap()).unwrap();
    let role = &roles[0];
    let arn = role["rolearn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:iam::") && arn.ends_with(":role/eks-operator"),
        "no path allowed: {arn}"
    );
    assert_eq!(role["groups"][0], "system:masters");
    let syntax = run(home
        .command("bash")
        .args(["-n", &deploy("access-entry.sh")]));
    syntax.success();
}

#[test]
fn the_demo_runs_from_anywhere_with_an_empty_home_and_leaves_nothing() {
    let home = Home::new();
    let bin_dir = std::path::Path::new(BIN)
        .parent()
        .unwrap()
        .display()
        .to_string();
    let path = format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default());
    let started = Instant::now();
    let out = run(std::process::Command::new(repo_root().join("scripts/demo"))
        .env_clear()
        .env("PATH", path)
        .env("HOME", home.path())
        .current_dir("/"));
    out.success();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    for step in [
        "eksop-auth setup",
        "Logged in as arn:aws:sts::123456789012:assumed-role/eks-operator/alice",
        "kubectl get --raw /version",
        "v1.32.0-eksop-fake",
    ] {
        assert!(
            out.stdout.contains(step) || out.stderr.contains(step),
            "missing {step:?}:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    let ps = run(std::process::Command::new("ps").args(["-eo", "args"]));
    assert!(
        !ps.stdout.contains("eksop-demo."),
        "the demo left a process behind:\n{}",
        ps.stdout
    );
    assert_eq!(
        std::fs::read_dir(home.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name() != ".aws")
            .count(),
        0
    );
}

fn doctor_home(sts: &FakeAws, extra: &str) -> Home {
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), extra);
    sts.write_operator_kubeconfig(&home, &["--region", "eu-west-1"]);
    home
}

fn doctor(home: &Home) -> Output {
    run(&mut home.eksop(&["doctor", "--profile", &home.profile, "--cluster", "prod"]))
}

#[test]
fn doctor_passes_on_a_working_setup_and_self_tests_a_token() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = doctor_home(&sts, "mfa_process = echo 246800");
    run(&mut home.eksop(&["login", "--profile", &home.profile])).success();
    let out = doctor(&home);
    out.success();
    for line in [
        "ok    profile",
        "ok    source credentials",
        "ok    session store: file reads and writes",
        "ok    MFA code source",
        "ok    clock",
        "ok    session",
        "ok    kubeconfig",
        "the cluster will see arn:aws:sts::123456789012:assumed-role/eks-operator/alice",
        "all checks passed",
    ] {
        assert!(
            out.stdout.contains(line),
            "missing {line:?}:\n{}",
            out.stdout
        );
    }
    let text = format!("{}{}", out.stdout, out.stderr);
    for secret in [
        "k8s-aws-v1.",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
        SRC_SECRET,
        "246800",
    ] {
        assert!(!text.contains(secret), "doctor printed {secret}:\n{text}");
    }
}

#[test]
fn doctor_names_each_failure_and_its_fix() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    // No session, no terminal, no mfa_process, kubeconfig runs another binary.
    let home = doctor_home(&sts, "");
    let kube = std::fs::read_to_string(home.path().join(".kube/config"))
        .unwrap()
        .replace(BIN, "/usr/bin/true");
    home.write(".kube/config", &kube);
    let out = doctor(&home);
    out.failure();
    for line in [
        "FAIL  MFA code source",
        &format!(
            "FAIL  session: none is stored; run `eksop-auth login --profile {}`",
            home.profile
        ),
        "FAIL  kubeconfig",
        "is not this eksop-auth",
        "--    token self-test: skipped",
    ] {
        assert!(
            out.stdout.contains(line),
            "missing {line:?}:\n{}",
            out.stdout
        );
    }

    // A profile missing a key names it literally.
    let mut home = Home::new();
    home.write(
        ".aws/config",
        &format!("[profile half]\nrole_arn = {ROLE_ARN}\nsource_profile = src\n"),
    );
    home.set("AWS_ENDPOINT_URL_STS", sts.sts_url());
    let out = run(&mut home.eksop(&["doctor", "--profile", "half"]));
    assert!(
        out.failure().stdout.contains("FAIL  profile") && out.stdout.contains("`mfa_serial`"),
        "{}",
        out.stdout
    );
}

#[test]
fn doctor_with_sts_down_fails_within_bounds() {
    let url = dead_endpoint();
    let mut home = Home::new();
    home.operator_profile(&url, "mfa_process = echo 111999");
    let started = Instant::now();
    let out = run(&mut home.eksop(&["doctor", "--profile", &home.profile]));
    out.failure();
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        out.stdout.contains("FAIL  clock") && out.stdout.contains("cannot reach STS"),
        "{}",
        out.stdout
    );
}

#[test]
fn completions_man_page_help_and_version() {
    let home = Home::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run(&mut home.eksop(&["completions", shell]));
        assert!(
            out.success().stdout.contains("eksop-auth")
                && out.stdout.contains("credential-process"),
            "{shell}"
        );
    }
    let bash = run(&mut home.eksop(&["completions", "bash"])).stdout;
    let script = home.write("completion.bash", &bash);
    run(home.command("bash").args(["-n", script.to_str().unwrap()])).success();
    assert!(
        run(&mut home.eksop(&["manpage"]))
            .success()
            .stdout
            .contains(".TH eksop-auth")
    );
    let version = run(&mut home.eksop(&["--version"]));
    let v = version.success().stdout.trim().to_string();
    assert!(
        v.starts_with(&format!("eksop-auth {} (", env!("CARGO_PKG_VERSION"))) && v.ends_with(')'),
        "{v}"
    );
    for sub in [
        "token",
        "login",
        "setup",
        "status",
        "logout",
        "credential-process",
        "doctor",
        "completions",
    ] {
        let help = run(&mut home.eksop(&[sub, "--help"]));
        assert!(
            help.success().stdout.contains("Example"),
            "{sub} --help has no example:\n{}",
            help.stdout
        );
    }
}

#[test]
fn a_missing_test_tool_names_what_to_install() {
    let panic = std::panic::catch_unwind(|| crate::harness::need("no-such-tool-eksop"))
        .expect_err("a missing tool fails the test");
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        text.contains("`no-such-tool-eksop`") && text.contains("./scripts/test"),
        "{text}"
    );
    let panic = std::panic::catch_unwind(|| {
        crate::harness::need_python_module("no_such_module_eksop", "no-such-package")
    })
    .expect_err("a missing module fails the test");
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains("pip install 'no-such-package'"), "{text}");
}
