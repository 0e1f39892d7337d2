//! The real kubectl prompting through its exec block in a pseudo-terminal.

use std::time::{Duration, Instant};

use crate::fakes::{FakeAws, FakeAwsOptions};
use crate::harness::{Home, run};

fn kubectl_home(sts: &FakeAws) -> Home {
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "");
    sts.write_operator_kubeconfig(&home, &[]);
    home
}

#[test]
fn kubectl_prompts_once_on_the_terminal_then_reuses_the_session() {
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            mfa_codes: &["246810"],
            ..Default::default()
        },
    );
    let home = kubectl_home(&sts);
    let mut cmd = home.command("kubectl");
    cmd.args(["get", "--raw", "/version"]);
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn kubectl in a pty");
    p.exp_string("MFA code for arn:aws:iam::123456789012:mfa/alice")
        .unwrap();
    // A typo is re-asked before any AWS call…
    p.send_line("12ab").unwrap();
    p.exp_string("6 digits").unwrap();
    // …a well-formed code AWS rejects is re-asked once, with a note…
    p.send_line("135791").unwrap();
    p.exp_string("AWS rejected that code").unwrap();
    // …and the right one goes through.
    p.send_line("246810").unwrap();
    p.exp_string("v1.32.0-eksop-fake").unwrap();
    p.exp_eof().unwrap();
    let codes: Vec<_> = sts
        .assume_role_calls()
        .iter()
        .map(|c| c["params"]["TokenCode"].clone())
        .collect();
    assert_eq!(codes, ["135791", "246810"]);

    let mut cmd = home.command("kubectl");
    cmd.args(["get", "--raw", "/version"]);
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    let rest = p.exp_eof().unwrap();
    assert!(
        rest.contains("v1.32.0-eksop-fake") && !rest.contains("MFA code"),
        "{rest}"
    );
    assert_eq!(sts.assume_role_calls().len(), 2, "no new AssumeRole");
}

#[test]
fn kubectl_without_a_terminal_fails_fast_with_the_login_hint() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = kubectl_home(&sts);
    let started = Instant::now();
    let out = run(home.command("kubectl").args(["get", "--raw", "/version"]));
    out.failure();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        out.stderr
            .contains(&format!("eksop-auth login --profile {}", home.profile)),
        "{}",
        out.stderr
    );
    assert!(sts.sts_log().is_empty());
}
