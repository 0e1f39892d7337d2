//! eks-operator sessions: MFA, AssumeRole for 12 hours, the stores, `login`/`status`/
//! `logout`, and the errors that must name their fix.

use std::time::{Duration, Instant};

use crate::fakes::{FakeAws, FakeAwsOptions, Moto, SecretService};
use crate::harness::{Home, MFA_SERIAL, Output, ROLE_ARN, SRC_AKID, SRC_SECRET, run, token_url};

fn token(home: &Home) -> Output {
    run(&mut home.eksop(&["token", "--cluster", "prod", "--profile", &home.profile]))
}

fn login(home: &Home) -> Output {
    run(&mut home.eksop(&["login", "--profile", &home.profile]))
}

/// The stored record (file store), for secret-leak checks.
fn stored_record(home: &Home) -> serde_json::Value {
    let p = home.store_file();
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

#[track_caller]
fn assert_no_secrets(text: &str, secrets: &[&str]) {
    for s in secrets.iter().filter(|s| s.len() >= 6) {
        assert!(
            !text.contains(s),
            "output leaks a secret ({:.6}…): {text}",
            s
        );
    }
}

#[test]
fn login_assumes_the_role_once_and_token_reuses_it() {
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            mfa_codes: &["135790"],
            ..Default::default()
        },
    );
    let mut home = Home::new();
    let mfa = home.counting_mfa_process("135790");
    home.operator_profile(sts.sts_url(), &mfa);

    let out = login(&home);
    out.success();
    assert!(
        out.stdout.is_empty(),
        "login prints for people, on stderr: {}",
        out.stdout
    );
    assert!(
        out.stderr.contains("Logged in as arn:aws:sts::123456789012:assumed-role/eks-operator/alice; session valid until")
            && out.stderr.contains("(12h)\nSession name `alice` (your IAM user name); source identity `alice`")
            && out.stderr.contains("Kubernetes user: eks-operator:alice (with the shipped aws-auth mapping), arn:aws:sts::123456789012:assumed-role/eks-operator/alice (with an EKS access entry)"),
        "{}",
        out.stderr
    );
    let calls = sts.assume_role_calls();
    assert_eq!(calls.len(), 1);
    let p = &calls[0]["params"];
    assert_eq!(p["RoleArn"], ROLE_ARN);
    assert_eq!(p["SerialNumber"], MFA_SERIAL);
    assert_eq!(p["TokenCode"], "135790");
    assert_eq!(p["DurationSeconds"], "43200");
    assert_eq!(p["RoleSessionName"], "alice", "named after the IAM user");
    assert_eq!(p["SourceIdentity"], "alice", "CloudTrail names the person");
    let actions: Vec<_> = sts.sts_log().iter().map(|e| e["action"].clone()).collect();
    assert_eq!(
        actions,
        ["GetCallerIdentity", "AssumeRole"],
        "the user's name is learned from the source keys first"
    );
    assert_eq!(
        calls[0]["access_key_id"], SRC_AKID,
        "signed directly with the source keys"
    );
    assert!(
        sts.sts_log()
            .iter()
            .all(|e| e["action"] != "GetSessionToken"),
        "no role chaining"
    );

    for _ in 0..3 {
        let doc = token(&home).success().json();
        let url = token_url(doc["status"]["token"].as_str().unwrap());
        assert!(
            url.starts_with(sts.sts_url()) && url.contains("X-Amz-Security-Token="),
            "{url}"
        );
    }
    assert_eq!(
        sts.assume_role_calls().len(),
        1,
        "tokens come from the stored session"
    );
    assert_eq!(home.mfa_runs(), 1);

    // The real kubectl, through the stored session, against the verifying API server.
    sts.write_operator_kubeconfig(&home, &[]);
    run(home.command("kubectl").args(["get", "--raw", "/version"])).success();
    let log = sts.apiserver_log();
    assert!(
        !log.is_empty() && log.iter().all(|e| e["ok"] == true),
        "{log:?}"
    );
    assert_eq!(
        log[0]["arn"],
        "arn:aws:sts::123456789012:assumed-role/eks-operator/alice"
    );

    // status shows it and no secret; logout removes it; logout again is fine.
    let record = stored_record(&home);
    let secrets = [
        record["sk"].as_str().unwrap(),
        record["st"].as_str().unwrap(),
        SRC_SECRET,
        "135790",
    ];
    let status = run(&mut home.eksop(&["status"]));
    status.success();
    assert!(
        status.stdout.contains(&format!("profile {}", home.profile)),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains(ROLE_ARN)
            && status.stdout.contains("assumed-role/eks-operator/alice"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("(in 11h") || status.stdout.contains("(in 12h"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("store     file"),
        "{}",
        status.stdout
    );
    for o in [&out, &status] {
        assert_no_secrets(&o.stdout, &secrets);
        assert_no_secrets(&o.stderr, &secrets);
    }
    let verbose = run(&mut home.eksop(&[
        "-vv",
        "token",
        "--cluster",
        "prod",
        "--profile",
        &home.profile,
    ]));
    assert_no_secrets(&verbose.stderr, &secrets);
    assert!(verbose.stderr.contains("cache hit"), "{}", verbose.stderr);

    run(&mut home.eksop(&["logout", "--profile", &home.profile])).success();
    let empty = run(&mut home.eksop(&["status"]));
    assert!(
        empty.success().stdout.contains("no sessions"),
        "{}",
        empty.stdout
    );
    run(&mut home.eksop(&["logout", "--profile", &home.profile])).success();
    run(&mut home.eksop(&["logout", "--all"])).success();
}

#[test]
fn login_always_replaces_the_session() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = date +%N | cut -c1-6");
    login(&home).success();
    let first = stored_record(&home)["id"].clone();
    login(&home).success();
    assert_ne!(stored_record(&home)["id"], first);
    assert_eq!(sts.assume_role_calls().len(), 2);
}

#[test]
fn moto_happy_path_and_no_sts_call_while_the_session_is_fresh() {
    let moto = Moto::start();
    let mut home = Home::new();
    home.operator_profile(
        moto.url(),
        "mfa_process = echo 123456\nrole_session_name = alice-laptop",
    );
    let out = login(&home);
    assert!(
        out.success()
            .stderr
            .contains("assumed-role/eks-operator/alice-laptop; session valid until"),
        "{}",
        out.stderr
    );
    let record = stored_record(&home);
    let expires = record["exp"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        expires.abs_diff(now + 43_200) < 120,
        "12-hour session: exp {expires}, now {now}"
    );
    // With moto gone, any STS call would fail: the token must come from the store.
    drop(moto);
    let doc = token(&home).success().json();
    let url = token_url(doc["status"]["token"].as_str().unwrap());
    assert!(
        url.contains(&format!(
            "X-Amz-Credential={}%2F",
            record["id"].as_str().unwrap()
        )),
        "{url}"
    );
}

#[test]
fn nobody_to_prompt_fails_fast_with_the_login_hint() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "");
    for exec_info in [
        None,
        Some(
            "{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"spec\":{\"interactive\":false}}",
        ),
    ] {
        if let Some(info) = exec_info {
            home.set("KUBERNETES_EXEC_INFO", info);
        }
        let started = Instant::now();
        let out = token(&home);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "took {:?}",
            started.elapsed()
        );
        out.failure();
        assert!(out.stdout.is_empty());
        assert!(
            out.stderr.contains(&format!(
                "run `eksop-auth login --profile {}`",
                home.profile
            )),
            "{}",
            out.stderr
        );
    }
    assert!(sts.sts_log().is_empty());
    let out = login(&home);
    assert!(
        out.failure().stderr.contains("mfa_process"),
        "{}",
        out.stderr
    );
}

#[test]
fn access_denied_explains_the_trust_policy_and_stores_nothing() {
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            deny_assume: true,
            ..Default::default()
        },
    );
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 123456");
    let out = login(&home);
    out.failure();
    assert!(
        out.stderr.contains("trust policy") && out.stderr.contains(ROLE_ARN),
        "{}",
        out.stderr
    );
    assert!(!home.store_file().exists());
    assert!(
        run(&mut home.eksop(&["status"]))
            .stdout
            .contains("no sessions")
    );
}

#[test]
fn duration_above_max_session_duration_names_both_settings() {
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            max_session_duration: Some(3600),
            ..Default::default()
        },
    );
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 123456");
    let out = login(&home);
    out.failure();
    assert!(
        out.stderr.contains("MaxSessionDuration") && out.stderr.contains("duration_seconds"),
        "{}",
        out.stderr
    );
    assert!(
        run(&mut home.eksop(&["status"]))
            .stdout
            .contains("no sessions")
    );
}

#[test]
fn wrong_code_from_mfa_process_is_reported_and_nothing_stored() {
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            mfa_codes: &["111111"],
            ..Default::default()
        },
    );
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 222222");
    let out = token(&home);
    out.failure();
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("rejected the MFA code") && out.stderr.contains(MFA_SERIAL),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("222222"),
        "the code is not echoed: {}",
        out.stderr
    );
    assert_eq!(
        sts.assume_role_calls().len(),
        1,
        "a process-supplied code is not retried"
    );
    assert!(
        run(&mut home.eksop(&["status"]))
            .stdout
            .contains("no sessions")
    );
}

#[test]
fn incomplete_profiles_name_the_key_and_the_file() {
    let home = Home::new();
    let config = home.write(
        ".aws/config",
        "[profile nosrc]\nrole_arn = arn:aws:iam::1:role/r\nmfa_serial = arn:aws:iam::1:mfa/a\n\
         [profile norole]\nregion = us-east-1\n\
         [profile nomfa]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = x\n\
         [profile badsrc]\nrole_arn = arn:aws:iam::1:role/r\nmfa_serial = arn:aws:iam::1:mfa/a\nsource_profile = nokeys\nmfa_process = echo 123456\n\
         [profile nokeys]\nregion = us-east-1\n",
    );
    let file = config.to_str().unwrap();
    for (profile, key) in [
        ("nosrc", "source_profile"),
        ("norole", "role_arn"),
        ("nomfa", "mfa_serial"),
    ] {
        let out = run(&mut home.eksop(&["login", "--profile", profile]));
        out.failure();
        assert!(
            out.stderr.contains(&format!("`{key}`")) && out.stderr.contains(file),
            "{profile}: {}",
            out.stderr
        );
    }
    let out = run(&mut home.eksop(&["token", "--cluster", "c", "--profile", "nosrc"]));
    assert!(
        out.failure().stderr.contains("`source_profile`"),
        "{}",
        out.stderr
    );
    let out = run(&mut home.eksop(&["login", "--profile", "badsrc"]));
    assert!(
        out.failure().stderr.contains("`nokeys`") && out.stderr.contains("aws configure"),
        "{}",
        out.stderr
    );
}

#[test]
fn file_store_is_private() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 123456");
    login(&home).success();
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: std::path::PathBuf| std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    let cache = home.path().join(".cache/eksop-auth");
    assert_eq!(mode(cache.join("store")), 0o700);
    assert_eq!(mode(home.store_file()), 0o600);
    assert_eq!(mode(cache.join("sessions")), 0o700);
    assert_eq!(mode(home.meta_file()), 0o600);
}

#[test]
fn a_store_that_cannot_write_is_a_warning_not_a_lost_token() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 123456");
    // A file where the store's directory should be: every write fails.
    home.write(".cache/eksop-auth/store", "not a directory");
    let out = token(&home);
    out.success().json();
    assert!(
        out.stderr.contains("warning: could not store the session"),
        "{}",
        out.stderr
    );
}

/// Logs out on drop, so a keyring test leaves nothing in the user's kernel keyring.
struct LogoutOnDrop<'a>(&'a Home);

impl Drop for LogoutOnDrop<'_> {
    fn drop(&mut self) {
        let _ = run(&mut self.0.eksop(&["logout", "--profile", &self.0.profile]));
    }
}

#[test]
fn kernel_keyring_keeps_the_session_across_processes() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    let mfa = home.counting_distinct_mfa_process();
    home.operator_profile(sts.sts_url(), &mfa)
        .unset("EKSOP_AUTH_STORE");
    let _cleanup = LogoutOnDrop(&home);
    login(&home).success();
    let status = run(&mut home.eksop(&["status", "--profile", &home.profile]));
    assert!(
        status.success().stdout.contains("store     keyutils"),
        "{}",
        status.stdout
    );
    assert!(
        !home.path().join(".cache/eksop-auth/store").exists(),
        "no file store unless asked"
    );
    token(&home).success();
    assert_eq!(sts.assume_role_calls().len(), 1);
    let described = run(home.command("keyctl").args(["show", "@u"]));
    let persistent = run(home
        .command("sh")
        .args(["-c", "keyctl show $(keyctl get_persistent @u)"]));
    assert!(
        format!("{}{}", described.stdout, persistent.stdout).contains(&home.kernel_description()),
        "key not findable by name:\n{}\n{}",
        described.stdout,
        persistent.stdout
    );
    run(&mut home.eksop(&["logout", "--profile", &home.profile])).success();
    // With the key gone, `token` has to assume the role again.
    token(&home).success();
    assert_eq!(
        sts.assume_role_calls().len(),
        2,
        "logout removed the kernel key"
    );
}

#[test]
fn secret_service_keeps_the_session_across_processes() {
    let ss = SecretService::start();
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 123456")
        .set("EKSOP_AUTH_STORE", "keyring");
    for (k, v) in ss.env() {
        home.set(&k, &v);
    }
    let _cleanup = LogoutOnDrop(&home);
    login(&home).success();
    let status = run(&mut home.eksop(&["status", "--profile", &home.profile]));
    assert!(
        status
            .success()
            .stdout
            .contains("store     secret-service+keyutils"),
        "{}",
        status.stdout
    );
    // The item is in Secret Service under the documented name.
    let item = run(home.command("secret-tool").args([
        "lookup",
        "service",
        "eksop-auth",
        "username",
        &home.record_key(),
    ]));
    assert!(
        item.success().stdout.contains("\"v\":2"),
        "secret-tool found: {:?}",
        item.stdout
    );
    // Drop the kernel-keyring hot copy: the next process reads Secret Service.
    let purge = format!(
        "keyctl link $(keyctl get_persistent @u) @s >/dev/null; keyctl purge -s user {}",
        home.kernel_description()
    );
    run(home
        .command("keyctl")
        .args(["session", "-", "sh", "-c", &purge]))
    .success();
    let out = run(&mut home.eksop(&[
        "-v",
        "token",
        "--cluster",
        "prod",
        "--profile",
        &home.profile,
    ]));
    assert!(out.success().stderr.contains("cache hit"), "{}", out.stderr);
    assert_eq!(sts.assume_role_calls().len(), 1);
    // From a shell without the desktop's D-Bus session, logout says what it cannot reach…
    let mut away = home.eksop(&["logout", "--profile", &home.profile]);
    away.env(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}/nowhere", home.path().display()),
    );
    let out = run(&mut away);
    assert!(
        out.failure()
            .stderr
            .contains("a copy is left in secret-service"),
        "{}",
        out.stderr
    );
    // …and from the desktop session it removes the copy there.
    run(&mut home.eksop(&["logout", "--profile", &home.profile])).success();
    let gone = run(home.command("secret-tool").args([
        "lookup",
        "service",
        "eksop-auth",
        "username",
        &home.record_key(),
    ]));
    assert!(
        gone.stdout.is_empty(),
        "logout left the Secret Service item"
    );
}
