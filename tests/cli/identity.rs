//! Identity you can audit: the role session is named after the IAM user and carries it as
//! SourceIdentity, a role that refuses either says why, and the cluster, `status` and
//! `doctor` name the same person. The fake STS enforces the shipped trust policy's two
//! conditions (deploy/eks-operator-role.yaml); the fake API server maps users as aws-auth does.

use crate::fakes::{FakeAws, FakeAwsOptions};
use crate::harness::{Home, Output, SRC_AKID, run};

const BOB_AKID: &str = "AKIABOBBOBBOBBOB0000";
const BOB_SECRET: &str = "bob-secret-access-key-for-tests";
const BOB_ARN: &str = "arn:aws:iam::123456789012:user/team/bob";

fn login(home: &Home) -> Output {
    run(&mut home.eksop(&["login", "--profile", &home.profile]))
}

fn home_for(sts: &FakeAws, extra: &str) -> Home {
    let mut home = Home::new();
    let mfa = home.unique_mfa_process();
    home.operator_profile(sts.sts_url(), &format!("{mfa}\n{extra}"));
    home
}

#[test]
fn the_default_name_is_the_iam_user_and_the_trust_policy_takes_it() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = home_for(&sts, "");
    let out = login(&home);
    out.success();
    assert!(
        out.stderr
            .contains("Session name `alice` (your IAM user name); source identity `alice`"),
        "{}",
        out.stderr
    );
    let calls = sts.assume_role_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["status"], 200);
    assert_eq!(calls[0]["params"]["RoleSessionName"], "alice");
    assert_eq!(calls[0]["params"]["SourceIdentity"], "alice");
    // The stored session remembers it, and the next `token` needs no STS call at all.
    let status = run(&mut home.eksop(&["status"]));
    assert!(
        status
            .success()
            .stdout
            .contains("  source    identity `alice` (recorded by CloudTrail)"),
        "{}",
        status.stdout
    );
    let before = sts.sts_log().len();
    run(&mut home.eksop(&["token", "--cluster", "prod", "--profile", &home.profile])).success();
    assert_eq!(sts.sts_log().len(), before, "the warm path never asks STS");
}

#[test]
fn a_spoofed_session_name_is_refused_and_the_message_names_the_rule() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    // alice's keys, bob's name: the trust policy must refuse, and eksop-auth say why.
    let home = home_for(&sts, "role_session_name = bob");
    let out = login(&home);
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    for part in [
        "with the role session name `bob`",
        "RoleSessionName equal to your IAM user name (`alice`)",
        "remove `role_session_name` from profile",
    ] {
        assert!(out.stderr.contains(part), "{part:?} in {}", out.stderr);
    }
    let calls = sts.assume_role_calls();
    assert_eq!(calls[0]["params"]["RoleSessionName"], "bob");
    assert_eq!(calls[0]["status"], 403);
    assert!(
        run(&mut home.eksop(&["status"]))
            .stdout
            .contains("no sessions")
    );

    // A configured name that is the user's is honoured as configured.
    let home = home_for(&sts, "role_session_name = alice");
    let out = login(&home);
    assert!(
        out.success()
            .stderr
            .contains("Session name `alice` (from `role_session_name` in the profile)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_role_without_set_source_identity_gets_the_fix_named() {
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            no_set_source_identity: true,
            ..Default::default()
        },
    );
    let home = home_for(&sts, "");
    let out = login(&home);
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    for part in [
        "the role's trust policy does not allow sts:SetSourceIdentity",
        "SourceIdentity = `alice`",
        "deploy/eks-operator-role.yaml",
        "sts:SourceIdentity equals ${aws:username}",
        "add `set_source_identity = false` to profile",
    ] {
        assert!(out.stderr.contains(part), "{part:?} in {}", out.stderr);
    }
    assert!(!out.stderr.contains("not in the role's trust policy"));

    // The profile key turns it off for such a role.
    let home = home_for(&sts, "set_source_identity = false");
    let out = login(&home);
    assert!(
        out.success()
            .stderr
            .contains("no source identity (`set_source_identity = false` in the profile)"),
        "{}",
        out.stderr
    );
    let last = sts.assume_role_calls().pop().unwrap();
    assert_eq!(last["status"], 200);
    assert!(last["params"].get("SourceIdentity").is_none(), "{last}");
    assert_eq!(last["params"]["RoleSessionName"], "alice");
}

#[test]
fn a_name_aws_would_refuse_is_fixed_and_said() {
    // A one-character IAM user name: AWS wants at least two characters.
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            users: &[(
                "AKIAONECHARUSER00000",
                "one-char-secret",
                "arn:aws:iam::123456789012:user/q",
            )],
            any_session_name: true,
            ..Default::default()
        },
    );
    let home = home_for(&sts, "set_source_identity = false");
    let config = std::fs::read_to_string(home.path().join(".aws/config"))
        .unwrap()
        .replace(SRC_AKID, "AKIAONECHARUSER00000")
        .replace(crate::harness::SRC_SECRET, "one-char-secret");
    home.write(".aws/config", &config);
    let out = login(&home);
    assert!(
        out.success()
            .stderr
            .contains("Session name `q-` (your IAM user name)"),
        "{}",
        out.stderr
    );
    assert_eq!(
        sts.assume_role_calls()[0]["params"]["RoleSessionName"],
        "q-"
    );
    // A name the profile sets is checked before any code is spent.
    let home2 = home_for(&sts, "role_session_name = alice smith");
    let out = login(&home2);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("role_session_name"), "{}", out.stderr);
    assert_eq!(home2.mfa_runs(), 0);
}

#[test]
fn kubectl_auth_whoami_status_and_doctor_name_the_same_person() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = home_for(&sts, "");
    sts.write_operator_kubeconfig(&home, &[]);
    login(&home).success();
    let whoami = run(home.command("kubectl").args(["auth", "whoami"]));
    assert!(
        whoami.success().stdout.contains("eks-operator:alice"),
        "{}\n{}",
        whoami.stdout,
        whoami.stderr
    );
    let status = run(&mut home.eksop(&["status"]));
    assert!(
        status.success().stdout.contains(
            "  k8s user  eks-operator:alice (with the shipped aws-auth mapping), \
             arn:aws:sts::123456789012:assumed-role/eks-operator/alice (with an EKS access entry)"
        ),
        "{}",
        status.stdout
    );
    let doctor = run(&mut home.eksop(&["doctor", "--profile", &home.profile, "--cluster", "prod"]));
    let server = sts.apiserver_url();
    assert!(
        doctor.success().stdout.contains(&format!(
            "ok    kubernetes user: {server} says you are `eks-operator:alice` (SelfSubjectReview)"
        )),
        "{}",
        doctor.stdout
    );
    let reviews: Vec<_> = sts
        .apiserver_log()
        .into_iter()
        .filter(|e| e["method"] == "POST")
        .collect();
    assert_eq!(reviews.len(), 2, "kubectl's and doctor's: {reviews:?}");
    assert!(
        reviews
            .iter()
            .all(|e| e["username"] == "eks-operator:alice")
    );
}

#[test]
fn doctor_says_when_the_cluster_no_longer_maps_the_role() {
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            map_roles: &["eks-operator=-"],
            ..Default::default()
        },
    );
    let home = home_for(&sts, "");
    sts.write_operator_kubeconfig(&home, &[]);
    login(&home).success();
    let doctor = run(&mut home.eksop(&["doctor", "--profile", &home.profile, "--cluster", "prod"]));
    assert_eq!(doctor.code, Some(11), "{}", doctor.stdout);
    assert!(
        doctor
            .stdout
            .contains("refused the token (401 Unauthorized) although STS accepted it")
            && doctor.stdout.contains("eksop-auth setup --role-arn"),
        "{}",
        doctor.stdout
    );
}

#[test]
fn status_verify_flags_a_session_named_after_someone_else() {
    // The source profile's keys come from a credential_process: the config does not
    // change when the keys behind it change hands, from alice to bob.
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            users: &[(BOB_AKID, BOB_SECRET, BOB_ARN)],
            ..Default::default()
        },
    );
    let mut home = Home::new();
    let mfa = home.counting_distinct_mfa_process();
    let keys = home.path().join("keys.json");
    let write_keys = |akid: &str, secret: &str| {
        std::fs::write(
            &keys,
            format!(r#"{{"Version":1,"AccessKeyId":"{akid}","SecretAccessKey":"{secret}"}}"#),
        )
        .unwrap();
    };
    write_keys(SRC_AKID, crate::harness::SRC_SECRET);
    let config = format!(
        "[profile proc]\ncredential_process = cat {}\n\n[profile {}]\nrole_arn = {}\nmfa_serial = {}\nsource_profile = proc\nregion = eu-west-1\n{mfa}\n",
        keys.display(),
        home.profile,
        crate::harness::ROLE_ARN,
        crate::harness::MFA_SERIAL
    );
    home.write(".aws/config", &config);
    home.set("AWS_ENDPOINT_URL_STS", sts.sts_url());
    login(&home).success();
    let verify = || run(&mut home.eksop(&["status", "--verify", "--profile", &home.profile]));
    let ok = verify();
    assert!(
        ok.success().stdout.contains(
            "verified  arn:aws:sts::123456789012:assumed-role/eks-operator/alice (this is who the cluster sees)"
        ),
        "{}",
        ok.stdout
    );
    write_keys(BOB_AKID, BOB_SECRET);
    let flagged = verify();
    assert!(
        flagged.stdout.contains(
            "verified  NO: the session is named `alice`, not after `bob` (arn:aws:iam::123456789012:user/team/bob), the IAM user the profile's source keys belong to now"
        ),
        "{}",
        flagged.stdout
    );
    // Logging in again makes the session bob's.
    let out = login(&home);
    assert!(
        out.success()
            .stderr
            .contains("assumed-role/eks-operator/bob;"),
        "{}",
        out.stderr
    );
    assert!(
        verify()
            .stdout
            .contains("assumed-role/eks-operator/bob (this is who")
    );
}

#[test]
fn doctor_never_sends_a_token_over_plain_http() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = home_for(&sts, "");
    sts.write_operator_kubeconfig(&home, &[]);
    login(&home).success();
    // The same cluster entry, pointed at a plain-HTTP listener that records any caller.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let http = format!("http://{}", listener.local_addr().unwrap());
    let text = std::fs::read_to_string(home.path().join(".kube/config"))
        .unwrap()
        .replace(sts.apiserver_url(), &http);
    home.write(".kube/config", &text);
    let doctor = run(&mut home.eksop(&["doctor", "--profile", &home.profile, "--cluster", "prod"]));
    assert!(
        doctor.stdout.contains(&format!(
            "FAIL  kubernetes user: the server of cluster prod in {} is `{http}`, not https://; no token is sent to it",
            home.path().join(".kube/config").display()
        )),
        "{}",
        doctor.stdout
    );
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing connected to the plain-HTTP server"
    );
}
