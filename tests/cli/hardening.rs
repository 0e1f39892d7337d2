//! Many callers at once, STS faults, damaged stores, replayed codes, the end-of-session
//! reminder, `status --verify`, and a leak scan of every command at the most verbose level.

use std::time::{Duration, Instant};

use crate::fakes::{FakeAws, FakeAwsOptions, dead_endpoint, verify_token};
use crate::harness::{BIN, Home, Output, SRC_SECRET, run, run_all};

fn token_cmd(home: &Home) -> std::process::Command {
    home.eksop(&["token", "--cluster", "prod", "--profile", &home.profile])
}

fn store_file(home: &Home) -> std::path::PathBuf {
    home.path()
        .join(".cache/eksop-auth/store")
        .join(format!("{}.json", home.record_key()))
}

fn record(home: &Home) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(store_file(home)).unwrap()).unwrap()
}

fn sts_host(sts: &FakeAws) -> String {
    sts.sts_url().trim_start_matches("http://").to_string()
}

#[test]
fn thirty_two_parallel_tokens_share_one_mfa_login() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    let mfa = home.counting_mfa_process("482910");
    home.operator_profile(sts.sts_url(), &mfa);
    let outs = run_all((0..32).map(|_| token_cmd(&home)).collect());
    assert_eq!(home.mfa_runs(), 1, "mfa_process runs");
    assert_eq!(sts.assume_role_calls().len(), 1, "AssumeRole calls");
    let r = record(&home);
    let key = (r["id"].as_str().unwrap(), r["sk"].as_str().unwrap());
    let host = sts_host(&sts);
    for out in &outs {
        let token = out.success().json()["status"]["token"]
            .as_str()
            .unwrap()
            .to_string();
        verify_token(&token, "prod", &[key], &["--sts-host", &host]).unwrap();
    }
}

#[test]
fn eight_parallel_kubectl_share_one_mfa_login() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    let mfa = home.counting_mfa_process("482911");
    home.operator_profile(sts.sts_url(), &mfa);
    sts.write_operator_kubeconfig(&home, &[]);
    let cmds = (0..8)
        .map(|_| {
            let mut c = home.command("kubectl");
            c.args(["get", "--raw", "/version"]);
            c
        })
        .collect();
    for out in run_all(cmds) {
        assert!(out.success().stdout.contains("v1.32.0-eksop-fake"));
    }
    assert_eq!(home.mfa_runs(), 1);
    assert_eq!(sts.assume_role_calls().len(), 1);
    assert!(sts.apiserver_log().iter().all(|e| e["ok"] == true));
}

#[test]
fn a_caller_that_cannot_prompt_waits_for_a_login_in_progress() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    // `login` gets its code slowly (a person, a YubiKey touch)…
    home.operator_profile(sts.sts_url(), "mfa_process = sleep 4; echo 373737");
    let mut login = home.eksop(&["login", "--profile", &home.profile]);
    let login = std::thread::spawn(move || run(&mut login));
    // …while a kubectl-driven `token` that may not prompt arrives (same profile, no
    // mfa_process in its config file).
    let no_mfa = home.write(
        "config-no-mfa",
        &std::fs::read_to_string(home.path().join(".aws/config"))
            .unwrap()
            .replace("mfa_process = sleep 4; echo 373737", ""),
    );
    home.set("AWS_CONFIG_FILE", no_mfa.to_str().unwrap()).set(
        "KUBERNETES_EXEC_INFO",
        r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}"#,
    );
    std::thread::sleep(Duration::from_millis(500));
    let out = run(&mut token_cmd(&home));
    login.join().unwrap().success();
    out.success().json();
    assert!(
        out.stderr.contains("waiting for the MFA login"),
        "{}",
        out.stderr
    );
    assert_eq!(sts.assume_role_calls().len(), 1);
}

#[test]
fn a_reused_code_is_caught_before_any_sts_call() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 246813");
    run(&mut home.eksop(&["login", "--profile", &home.profile])).success();
    run(&mut home.eksop(&["logout", "--profile", &home.profile])).success();
    let out = run(&mut token_cmd(&home));
    out.failure();
    assert!(
        out.stderr.contains("already used") && out.stderr.contains("wait for the next code"),
        "{}",
        out.stderr
    );
    assert_eq!(
        sts.assume_role_calls().len(),
        1,
        "the reused code never reached STS"
    );
    // The next code works.
    home.operator_profile(sts.sts_url(), "mfa_process = echo 246814");
    run(&mut token_cmd(&home)).success();
    assert_eq!(sts.assume_role_calls().len(), 2);
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            faults: &["500", "throttle"],
            ..Default::default()
        },
    );
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 111222");
    run(&mut home.eksop(&["login", "--profile", &home.profile])).success();
    let statuses: Vec<_> = sts
        .assume_role_calls()
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 400, 200]);
}

#[test]
fn a_dead_endpoint_fails_fast_with_a_clear_message() {
    let url = dead_endpoint();
    let mut home = Home::new();
    home.operator_profile(&url, "mfa_process = echo 111333");
    let started = Instant::now();
    let out = run(&mut home.eksop(&["login", "--profile", &home.profile]));
    out.failure();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        out.stderr.contains("cannot reach STS") && out.stderr.contains("network"),
        "{}",
        out.stderr
    );
}

#[test]
fn sts_calls_go_through_the_proxy_from_the_environment() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let state = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(crate::fakes::fakeaws_script())
        .args(["proxy", "--state-dir"])
        .arg(state.path());
    let proxy = crate::fakes::Peer::start(cmd, tempfile::tempdir().unwrap());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 424242")
        .set("HTTP_PROXY", proxy.ready["proxy"].as_str().unwrap());
    run(&mut home.eksop(&["login", "--profile", &home.profile])).success();
    let log = std::fs::read_to_string(state.path().join("proxy.jsonl")).unwrap_or_default();
    assert!(
        log.contains("\"POST\"") && log.contains(&sts_host(&sts)),
        "the proxy saw: {log:?}"
    );
}

#[test]
fn a_hanging_endpoint_times_out() {
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            hang_seconds: 60.0,
            ..Default::default()
        },
    );
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 111444");
    let started = Instant::now();
    let out = run(&mut home.eksop(&["login", "--profile", &home.profile]));
    out.failure();
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        out.stderr.contains("cannot reach STS") && out.stderr.contains("no answer within"),
        "{}",
        out.stderr
    );
}

#[test]
fn garbage_in_the_file_store_means_log_in_again() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    let mfa = home.counting_distinct_mfa_process();
    home.operator_profile(sts.sts_url(), &mfa);
    run(&mut token_cmd(&home)).success();
    for garbage in [
        "\u{0}\u{1}garbage",
        "{\"v\":1,\"id\":\"ASIA",
        "{\"other\":\"tool\"}",
    ] {
        std::fs::write(store_file(&home), garbage).unwrap();
        let out = run(&mut home.eksop(&[
            "-v",
            "token",
            "--cluster",
            "prod",
            "--profile",
            &home.profile,
        ]));
        out.success().json();
        assert!(out.stderr.contains("damaged"), "{}", out.stderr);
    }
    assert_eq!(sts.assume_role_calls().len(), 4);
    run(&mut token_cmd(&home)).success();
    assert_eq!(
        sts.assume_role_calls().len(),
        4,
        "the replaced record is good again"
    );
}

#[test]
fn garbage_in_the_kernel_keyring_means_log_in_again() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    let mfa = home.counting_distinct_mfa_process();
    home.operator_profile(sts.sts_url(), &mfa)
        .unset("EKSOP_AUTH_STORE");
    let (key, profile) = (home.kernel_description(), home.profile.clone());
    run(&mut token_cmd(&home)).success();
    let overwrite = format!(
        "keyctl get_persistent @s >/dev/null; id=$(keyctl search @s user {key}) && keyctl update $id not-a-session"
    );
    run(home
        .command("keyctl")
        .args(["session", "-", "sh", "-c", &overwrite]))
    .success();
    let out = run(&mut home.eksop(&["-v", "token", "--cluster", "prod", "--profile", &profile]));
    let ok = out.code == Some(0);
    run(&mut home.eksop(&["logout", "--profile", &profile])).success();
    assert!(ok && out.stderr.contains("damaged"), "{}", out.stderr);
    assert_eq!(sts.assume_role_calls().len(), 2);
}

#[test]
fn the_end_of_the_session_is_announced_at_most_every_ten_minutes() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(
        sts.sts_url(),
        "mfa_process = echo 555666\nduration_seconds = 1740",
    );
    run(&mut home.eksop(&["login", "--profile", &home.profile])).success();
    let first = run(&mut token_cmd(&home));
    assert!(
        first.success().stderr.contains("ends in")
            && first.stderr.contains("eksop-auth login --profile"),
        "{}",
        first.stderr
    );
    assert_eq!(first.stderr.lines().count(), 1);
    let second = run(&mut token_cmd(&home));
    assert!(second.success().stderr.is_empty(), "{}", second.stderr);
    // Eleven minutes later (18 minutes left): reminded again.
    let mut later = home.command("faketime");
    later.args([
        "-f",
        "+11m",
        BIN,
        "token",
        "--cluster",
        "prod",
        "--profile",
        &home.profile,
    ]);
    let third = run(&mut later);
    assert!(
        third.success().stderr.contains("ends in 1"),
        "{}",
        third.stderr
    );
    assert_eq!(sts.assume_role_calls().len(), 1);
}

#[test]
fn status_verify_shows_who_the_cluster_sees() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 777888");
    run(&mut home.eksop(&["login", "--profile", &home.profile])).success();
    let out = run(&mut home.eksop(&["status", "--verify"]));
    assert!(
        out.success().stdout.contains("verified  arn:aws:sts::123456789012:assumed-role/eks-operator/alice (this is who the cluster sees)"),
        "{}",
        out.stdout
    );
    std::fs::remove_file(store_file(&home)).unwrap();
    let out = run(&mut home.eksop(&["status", "--verify"]));
    assert!(
        out.success()
            .stdout
            .contains("verified  NO: none is stored; run `eksop-auth login"),
        "{}",
        out.stdout
    );
}

#[test]
fn no_command_leaks_a_secret_even_at_trace_level() {
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            mfa_codes: &["918273"],
            ..Default::default()
        },
    );
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 918273")
        .set("EKSOP_AUTH_LOG", "trace");
    let p = home.profile.clone();
    let mut outputs: Vec<(String, Output)> = Vec::new();
    let mut go = |name: &str, args: &[&str]| {
        let mut full = vec!["-vv"];
        full.extend_from_slice(args);
        outputs.push((name.to_string(), run(&mut home.eksop(&full))));
    };
    go("login", &["login", "--profile", &p]);
    go("token", &["token", "--cluster", "prod", "--profile", &p]);
    go("status", &["status"]);
    go("status --verify", &["status", "--verify"]);
    let r = record(&home);
    let (sk, st) = (
        r["sk"].as_str().unwrap().to_string(),
        r["st"].as_str().unwrap().to_string(),
    );
    go("logout", &["logout", "--profile", &p]);
    go(
        "token, reused code",
        &["token", "--cluster", "prod", "--profile", &p],
    );
    go("login, reused code", &["login", "--profile", &p]);
    go("logout --all", &["logout", "--all"]);
    let bearer = outputs[1].1.json()["status"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    for (name, out) in &outputs {
        for (what, secret) in [
            ("source secret key", SRC_SECRET),
            ("session secret key", &sk),
            ("session token", &st),
            ("MFA code", "918273"),
            ("bearer token", &bearer),
        ] {
            assert!(
                !out.stderr.contains(secret),
                "{name}: stderr leaks the {what}:\n{}",
                out.stderr
            );
            if name != "token" {
                assert!(
                    !out.stdout.contains(secret),
                    "{name}: stdout leaks the {what}:\n{}",
                    out.stdout
                );
            }
        }
        assert!(
            !out.stderr.contains("X-Amz-Signature"),
            "{name}: {}",
            out.stderr
        );
    }
    assert!(outputs[0].1.stderr.contains("trace:") || outputs[0].1.stderr.contains("debug:"));
}
