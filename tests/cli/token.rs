//! `eksop-auth token` without role assumption: byte-for-byte interop with `aws eks get-token`
//! under a frozen clock, the credential chain, and bad input.

use crate::fakes::verify_token;
use crate::harness::{AKID, Home, Output, SECRET, SESSION_TOKEN, run, token_url};

const FROZEN: &str = "2026-01-01 00:00:00";

/// Runs `program args…` under `TZ=UTC faketime -f FROZEN` with the home's environment.
fn frozen(home: &Home, program: &str, args: &[&str]) -> Output {
    let mut cmd = home.command("faketime");
    cmd.args(["-f", FROZEN, program]).args(args);
    run(&mut cmd)
}

/// The fields kubectl reads, for comparison.
fn fields(out: &Output) -> (String, String, String) {
    let doc = out.success().json();
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    (
        s(&doc["apiVersion"]),
        s(&doc["status"]["token"]),
        s(&doc["status"]["expirationTimestamp"]),
    )
}

/// One interop case: the same env for both tools; aws-cli is the reference.
fn assert_same_as_aws_cli(setup: impl Fn(&mut Home)) -> String {
    let mut home = Home::new();
    home.with_env_keys();
    setup(&mut home);
    let reference = frozen(
        &home,
        "aws",
        &["eks", "get-token", "--cluster-name", "demo"],
    );
    let ours = frozen(&home, crate::harness::BIN, &["token", "--cluster", "demo"]);
    let (want, got) = (fields(&reference), fields(&ours));
    assert_eq!(
        got,
        want,
        "eksop-auth differs from aws-cli\naws: {}\nours: {}",
        token_url(&want.1),
        token_url(&got.1)
    );
    assert_eq!(got.2, "2026-01-01T00:14:00Z");
    assert!(ours.stderr.is_empty(), "unexpected stderr: {}", ours.stderr);
    got.1
}

#[test]
fn same_token_as_aws_cli_us_east_1() {
    let token = assert_same_as_aws_cli(|h| {
        h.set("AWS_DEFAULT_REGION", "us-east-1");
    });
    assert!(
        token_url(&token)
            .starts_with("https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity")
    );
    verify_token(
        &token,
        "demo",
        &[(AKID, SECRET)],
        &["--now", "2026-01-01T00:01:00+00:00"],
    )
    .unwrap();
}

#[test]
fn same_token_as_aws_cli_us_east_1_with_session_token() {
    let token = assert_same_as_aws_cli(|h| {
        h.set("AWS_DEFAULT_REGION", "us-east-1")
            .set("AWS_SESSION_TOKEN", SESSION_TOKEN);
    });
    assert!(token_url(&token).contains("&X-Amz-Security-Token="));
    verify_token(
        &token,
        "demo",
        &[(AKID, SECRET)],
        &["--now", "2026-01-01T00:01:00+00:00"],
    )
    .unwrap();
}

#[test]
fn same_token_as_aws_cli_eu_west_1() {
    assert_same_as_aws_cli(|h| {
        h.set("AWS_DEFAULT_REGION", "eu-west-1");
    });
}

#[test]
fn same_token_as_aws_cli_eu_west_1_with_session_token() {
    let token = assert_same_as_aws_cli(|h| {
        h.set("AWS_DEFAULT_REGION", "eu-west-1")
            .set("AWS_SESSION_TOKEN", SESSION_TOKEN);
    });
    verify_token(
        &token,
        "demo",
        &[(AKID, SECRET)],
        &["--now", "2026-01-01T00:01:00+00:00"],
    )
    .unwrap();
}

#[test]
fn same_token_as_aws_cli_legacy_global_endpoint() {
    let token = assert_same_as_aws_cli(|h| {
        h.set("AWS_DEFAULT_REGION", "eu-west-1")
            .set("AWS_STS_REGIONAL_ENDPOINTS", "legacy");
    });
    assert!(token_url(&token).starts_with("https://sts.amazonaws.com/?"));
    let legacy_not_in_list = assert_same_as_aws_cli(|h| {
        h.set("AWS_DEFAULT_REGION", "ap-east-1")
            .set("AWS_STS_REGIONAL_ENDPOINTS", "legacy");
    });
    assert!(token_url(&legacy_not_in_list).starts_with("https://sts.ap-east-1.amazonaws.com/?"));
}

#[test]
fn same_token_as_aws_cli_without_any_region() {
    let token = assert_same_as_aws_cli(|_| {});
    assert!(token_url(&token).contains("%2Fus-east-1%2Fsts%2F"));
}

#[test]
fn same_token_as_aws_cli_china_partition() {
    let token = assert_same_as_aws_cli(|h| {
        h.set("AWS_DEFAULT_REGION", "cn-north-1")
            .set("AWS_SESSION_TOKEN", SESSION_TOKEN);
    });
    assert!(token_url(&token).starts_with("https://sts.cn-north-1.amazonaws.com.cn/?"));
    verify_token(
        &token,
        "demo",
        &[(AKID, SECRET)],
        &[
            "--now",
            "2026-01-01T00:01:00+00:00",
            "--partition",
            "aws-cn",
        ],
    )
    .unwrap();
}

#[test]
fn same_token_as_aws_cli_govcloud_partition() {
    let token = assert_same_as_aws_cli(|h| {
        h.set("AWS_DEFAULT_REGION", "us-gov-west-1");
    });
    assert!(token_url(&token).starts_with("https://sts.us-gov-west-1.amazonaws.com/?"));
    let fips = assert_same_as_aws_cli(|h| {
        h.set("AWS_DEFAULT_REGION", "us-gov-west-1")
            .set("AWS_USE_FIPS_ENDPOINT", "true");
    });
    assert_eq!(fips, token);
}

#[test]
fn same_token_as_aws_cli_fips_and_dualstack() {
    let token = assert_same_as_aws_cli(|h| {
        h.set("AWS_DEFAULT_REGION", "us-east-1")
            .set("AWS_USE_FIPS_ENDPOINT", "true")
            .set("AWS_USE_DUALSTACK_ENDPOINT", "true");
    });
    assert!(token_url(&token).starts_with("https://sts-fips.us-east-1.api.aws/?"));
}

#[test]
fn same_token_as_aws_cli_with_v1_exec_info() {
    assert_same_as_aws_cli(|h| {
        h.set("AWS_DEFAULT_REGION", "eu-west-1").set(
            "KUBERNETES_EXEC_INFO",
            "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{\"interactive\":false}}\n",
        );
    });
}

#[test]
fn same_token_as_aws_cli_with_endpoint_override() {
    let token = assert_same_as_aws_cli(|h| {
        h.set("AWS_DEFAULT_REGION", "eu-west-1")
            .set("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:5055");
    });
    assert!(token_url(&token).starts_with("http://127.0.0.1:5055/?"));
}

#[test]
fn same_token_as_aws_cli_from_a_named_profile() {
    assert_same_as_aws_cli(|h| {
        h.unset("AWS_ACCESS_KEY_ID")
            .unset("AWS_SECRET_ACCESS_KEY")
            .set("AWS_PROFILE", "dev");
        h.write(".aws/config", "[profile dev]\nregion = eu-west-2\n");
        h.write(
            ".aws/credentials",
            &format!("[dev]\naws_access_key_id = {AKID}\naws_secret_access_key = {SECRET}\naws_session_token = {SESSION_TOKEN}\n"),
        );
    });
}

#[test]
fn malformed_exec_info_warns_and_falls_back_to_v1beta1() {
    let mut home = Home::new();
    home.with_env_keys().set("KUBERNETES_EXEC_INFO", "{oops");
    let out = run(&mut home.eksop(&["token", "--cluster", "demo"]));
    let doc = out.success().json();
    assert_eq!(doc["apiVersion"], "client.authentication.k8s.io/v1beta1");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("KUBERNETES_EXEC_INFO"));
    home.set(
        "KUBERNETES_EXEC_INFO",
        r#"{"apiVersion":"client.authentication.k8s.io/v2"}"#,
    );
    let out = run(&mut home.eksop(&["token", "--cluster", "demo"]));
    assert_eq!(
        out.success().json()["apiVersion"],
        "client.authentication.k8s.io/v1beta1"
    );
    assert!(
        out.stderr.contains("Unrecognized API version"),
        "{}",
        out.stderr
    );
    // v1alpha1 (kubectl before 1.24) is answered as asked, as aws-cli does, with a note.
    home.set(
        "KUBERNETES_EXEC_INFO",
        r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{}}"#,
    );
    let out = run(&mut home.eksop(&["token", "--cluster", "demo"]));
    assert_eq!(
        out.success().json()["apiVersion"],
        "client.authentication.k8s.io/v1alpha1"
    );
    assert!(
        out.stderr
            .contains("deprecated API version client.authentication.k8s.io/v1alpha1")
            && out.stderr.lines().count() == 1,
        "{}",
        out.stderr
    );
}

#[test]
fn profile_flag_beats_environment_keys() {
    let mut home = Home::new();
    home.with_env_keys();
    home.write(
        ".aws/credentials",
        "[other]\naws_access_key_id = AKIAOTHERKEY00000000\naws_secret_access_key = other-secret\n",
    );
    let out = run(&mut home.eksop(&[
        "token",
        "--cluster",
        "demo",
        "--profile",
        "other",
        "--region",
        "eu-west-1",
    ]));
    let token = out.success().json()["status"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let url = token_url(&token);
    assert!(url.contains("Credential=AKIAOTHERKEY00000000%2F"), "{url}");
    assert!(
        url.starts_with("https://sts.eu-west-1.amazonaws.com/"),
        "{url}"
    );
    verify_token(
        &token,
        "demo",
        &[("AKIAOTHERKEY00000000", "other-secret")],
        &[],
    )
    .unwrap();
}

#[test]
fn credential_process_profile_goes_through_the_sdk_chain() {
    let mut home = Home::new();
    let helper = home.write(
        "bin/creds.sh",
        "#!/bin/sh\nprintf '{\"Version\":1,\"AccessKeyId\":\"ASIAPROCESS000000000\",\"SecretAccessKey\":\"proc-secret\",\"SessionToken\":\"proc-token\",\"Expiration\":\"2099-01-01T00:00:00Z\"}'\n",
    );
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    home.write(
        ".aws/config",
        &format!(
            "[profile proc]\nregion = us-west-2\ncredential_process = {}\n",
            helper.display()
        ),
    );
    home.set("AWS_PROFILE", "proc");
    let out = run(&mut home.eksop(&["token", "--cluster", "demo"]));
    let token = out.success().json()["status"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let url = token_url(&token);
    assert!(
        url.contains("Credential=ASIAPROCESS000000000%2F")
            && url.contains("X-Amz-Security-Token=proc-token"),
        "{url}"
    );
    verify_token(
        &token,
        "demo",
        &[("ASIAPROCESS000000000", "proc-secret")],
        &[],
    )
    .unwrap();
}

#[test]
fn missing_cluster_is_a_usage_error() {
    let mut home = Home::new();
    home.with_env_keys();
    let out = run(&mut home.eksop(&["token"]));
    assert_eq!(out.code, Some(2));
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("--cluster"), "{}", out.stderr);
    let empty = run(&mut home.eksop(&["token", "--cluster", ""]));
    assert!(
        empty.failure().stdout.is_empty() && empty.stderr.contains("--cluster"),
        "{}",
        empty.stderr
    );
}

#[test]
fn no_credentials_anywhere_names_the_fix() {
    let home = Home::new();
    let out = run(&mut home.eksop(&["token", "--cluster", "demo"]));
    out.failure();
    assert!(out.stdout.is_empty(), "stdout: {}", out.stdout);
    assert!(
        out.stderr.contains("AWS_PROFILE") && out.stderr.contains("aws configure"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.trim().lines().count(),
        1,
        "one paragraph: {}",
        out.stderr
    );
}

#[test]
fn unknown_profile_names_the_profile_and_the_file() {
    let home = Home::new();
    let config = home.write(".aws/config", "[profile real]\nregion = us-east-1\n");
    let out = run(&mut home.eksop(&["token", "--cluster", "demo", "--profile", "typo"]));
    out.failure();
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("`typo`") && out.stderr.contains(config.to_str().unwrap()),
        "{}",
        out.stderr
    );
    let mut home = home;
    home.set("AWS_PROFILE", "typo-from-env");
    let out = run(&mut home.eksop(&["token", "--cluster", "demo"]));
    assert!(
        out.failure().stderr.contains("`typo-from-env`"),
        "{}",
        out.stderr
    );
}

#[test]
fn profile_without_credentials_says_so() {
    let home = Home::new();
    home.write(".aws/config", "[profile empty]\nregion = us-east-1\n");
    let out = run(&mut home.eksop(&["token", "--cluster", "demo", "--profile", "empty"]));
    out.failure();
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("`empty`") && out.stderr.contains("aws configure"),
        "{}",
        out.stderr
    );
}

#[test]
fn verbose_output_never_contains_secrets() {
    let mut home = Home::new();
    home.with_env_keys()
        .set("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .set("AWS_REGION", "eu-west-1");
    let out = run(&mut home.eksop(&["-vv", "token", "--cluster", "demo"]));
    out.success();
    assert!(
        out.stderr.contains("debug:"),
        "verbose output expected: {}",
        out.stderr
    );
    for secret in [SECRET, SESSION_TOKEN, "k8s-aws-v1.", "X-Amz-Signature"] {
        assert!(
            !out.stderr.contains(secret),
            "stderr leaks {secret:.12}…: {}",
            out.stderr
        );
    }
}
