//! kubectl ≥ 1.35's credential-plugin policy (`kuberc`): the real kubectl 1.37 with a kuberc
//! in each of its four states, before and after `setup` — works where it should, unchanged
//! where it must be, byte-identical on a second run, other plugins' entries kept.

use crate::clients::cached_client;
use crate::fakes::{FakeAws, FakeAwsOptions};
use crate::harness::{BIN, Home, Output, run};

const HEAD: &str = "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\n";
/// Another plugin's entry and a preference of the user's, to be kept.
const OTHERS: &str = "credentialPluginAllowlist:\n- name: /usr/local/bin/kubelogin\ndefaults:\n- command: apply\n  options:\n  - name: server-side\n    default: \"true\"\n";

fn kubectl_1_37() -> std::path::PathBuf {
    cached_client("kubectl-1.37/bin/kubectl")
}

fn home_with(sts: &FakeAws) -> Home {
    let mut home = Home::new();
    let mfa = home.unique_mfa_process();
    home.operator_profile(sts.sts_url(), &mfa);
    home
}

fn setup(home: &Home, sts: &FakeAws, extra: &[&str]) -> Output {
    let mut cmd = home.eksop(&[
        "setup",
        "--cluster",
        "prod",
        "--profile",
        &home.profile,
        "--region",
        "eu-west-1",
        "--alias",
        "prod",
        "--endpoint",
        sts.apiserver_url(),
        "--certificate-authority-data",
        sts.ca_data(),
    ]);
    cmd.args(extra);
    run(&mut cmd)
}

fn kubectl_version(home: &Home) -> Output {
    run(home
        .command(kubectl_1_37())
        .args(["get", "--raw", "/version"]))
}

fn kuberc(home: &Home) -> Option<String> {
    std::fs::read_to_string(home.path().join(".kube/kuberc")).ok()
}

fn works(out: &Output) -> bool {
    out.code == Some(0) && out.stdout.contains("v1.32.0-eksop-fake")
}

#[test]
fn each_policy_state_before_and_after_setup() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    for (state, before, runs_before) in [
        ("none", None, true),
        (
            "AllowAll",
            Some(format!("{HEAD}credentialPluginPolicy: AllowAll\n")),
            true,
        ),
        (
            "DenyAll",
            Some(format!("{HEAD}credentialPluginPolicy: DenyAll\n")),
            false,
        ),
        (
            "Allowlist without us",
            Some(format!("{HEAD}credentialPluginPolicy: Allowlist\n{OTHERS}")),
            false,
        ),
    ] {
        let home = home_with(&sts);
        if let Some(text) = &before {
            home.write(".kube/kuberc", text);
        }
        // Before: our exec entry, written by a first setup with no kuberc in the way.
        let moved = home.path().join("kuberc.aside");
        if before.is_some() {
            std::fs::rename(home.path().join(".kube/kuberc"), &moved).unwrap();
        }
        setup(&home, &sts, &[]).success();
        if before.is_some() {
            std::fs::rename(&moved, home.path().join(".kube/kuberc")).unwrap();
        }
        let first = kubectl_version(&home);
        assert_eq!(
            works(&first),
            runs_before,
            "{state}, before: {}",
            first.stderr
        );
        if state == "DenyAll" {
            assert!(
                first.stderr.contains(&format!(
                    "plugin \"{BIN}\" not allowed: policy set to \"DenyAll\""
                )),
                "{}",
                first.stderr
            );
        }

        let out = setup(&home, &sts, &[]);
        out.success();
        let after = kuberc(&home);
        let second = kubectl_version(&home);
        match state {
            "none" | "AllowAll" => {
                assert_eq!(after, before, "{state}: nothing to change");
                assert!(works(&second), "{state}: {}", second.stderr);
            }
            "DenyAll" => {
                assert_eq!(after, before, "DenyAll is the user's decision");
                assert!(!works(&second));
                assert!(
                    out.stderr.contains("its credentialPluginPolicy is DenyAll")
                        && out.stderr.contains(&format!(
                            "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: {BIN}"
                        )),
                    "the lines to add: {}",
                    out.stderr
                );
            }
            _ => {
                let after = after.unwrap();
                assert!(works(&second), "{state}: {}", second.stderr);
                assert!(
                    after.contains("- name: /usr/local/bin/kubelogin\n"),
                    "{after}"
                );
                assert!(after.contains("name: server-side"), "{after}");
                assert!(after.contains(&format!("- name: {BIN}\n")), "{after}");
                assert!(
                    out.stderr.contains("kubectl may run"),
                    "setup says so: {}",
                    out.stderr
                );
            }
        }
        // A second run changes nothing, byte for byte.
        let kube = std::fs::read(home.path().join(".kube/config")).unwrap();
        let rc = kuberc(&home);
        setup(&home, &sts, &[]).success();
        assert_eq!(kuberc(&home), rc, "{state}: second run");
        assert_eq!(
            std::fs::read(home.path().join(".kube/config")).unwrap(),
            kube
        );
    }
}

#[test]
fn kuberc_allow_sets_an_allowlist_that_keeps_the_other_plugins() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = home_with(&sts);
    // Another cluster of the user's, with its own plugin.
    setup(&home, &sts, &[]).success();
    let kube = std::fs::read_to_string(home.path().join(".kube/config"))
        .unwrap()
        .replace(
            "users:\n",
            "users:\n- name: other\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: /usr/local/bin/kubelogin\n      args: [get-token]\n",
        );
    home.write(".kube/config", &kube);

    let dry = setup(&home, &sts, &["--kuberc-allow", "--dry-run"]);
    assert!(
        dry.success().stdout.contains(&format!(
            "+credentialPluginPolicy: Allowlist\n+credentialPluginAllowlist:\n+- name: /usr/local/bin/kubelogin\n+- name: {BIN}\n"
        )),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains(
            "note: the allowlist also names the kubeconfig's other plugins: /usr/local/bin/kubelogin"
        ),
        "{}",
        dry.stdout
    );
    assert_eq!(kuberc(&home), None, "a dry run writes nothing");

    setup(&home, &sts, &["--kuberc-allow"]).success();
    let text = kuberc(&home).unwrap();
    assert!(text.starts_with(HEAD), "{text}");
    assert!(works(&kubectl_version(&home)));
    let path = home.path().join(".kube/kuberc");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o077, 0, "a new file is private: {mode:o}");
    setup(&home, &sts, &["--kuberc-allow"]).success();
    assert_eq!(kuberc(&home).unwrap(), text, "idempotent");
}

#[test]
fn kuberc_off_is_ignored_and_doctor_names_the_fix() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = home_with(&sts);
    setup(&home, &sts, &[]).success();
    home.write(
        ".kube/kuberc",
        &format!("{HEAD}credentialPluginPolicy: Allowlist\n{OTHERS}"),
    );
    let doctor = |home: &Home| {
        run(&mut home.eksop(&["doctor", "--profile", &home.profile, "--cluster", "prod"]))
    };
    let out = doctor(&home);
    assert!(
        out.stdout.contains(&format!(
            "FAIL  kubectl plugin policy: {}: credentialPluginPolicy Allowlist does not list {BIN} (as written, or as a bare name on PATH)",
            home.path().join(".kube/kuberc").display()
        )) && out.stdout.contains("eksop-auth setup --cluster prod --profile"),
        "{}",
        out.stdout
    );
    // KUBERC=off: kubectl reads none, and setup leaves the file alone.
    home.set("KUBERC", "off");
    let before = kuberc(&home);
    setup(&home, &sts, &[]).success();
    assert_eq!(kuberc(&home), before);
    assert!(works(&kubectl_version(&home)));
    assert!(
        doctor(&home)
            .stdout
            .contains("kubectl plugin policy: skipped (KUBERC=off"),
        "{}",
        doctor(&home).stdout
    );
    // After setup without KUBERC=off: doctor agrees with kubectl.
    home.unset("KUBERC");
    setup(&home, &sts, &[]).success();
    let out = doctor(&home);
    assert!(
        out.stdout.contains("ok    kubectl plugin policy:") && works(&kubectl_version(&home)),
        "{}",
        out.stdout
    );
}
