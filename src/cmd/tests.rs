//! In-process command tests: the real command code with `Ctx::for_test` — a fixed clock, a
//! fake AWS, scripted code sources, an in-memory store, captured output.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::aws::{
    AssumeRoleRequest, AssumedRole, AwsApi, ChainRequest, ClusterInfo, DescribeClusterRequest,
    ListClustersRequest, Review, ReviewRequest, StsProbe,
};
use crate::cli::{
    AwsArgs, CredentialProcessArgs, DoctorArgs, LoginArgs, LogoutArgs, SetupArgs, StatusArgs,
    TokenArgs,
};
use crate::credentials::Credentials;
use crate::ctx::Ctx;
use crate::ctx::testing::TestFakes;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::mfa::scripted::Script;
use crate::secret::Secret;
use crate::store::{MemoryStore, SecretStore};
use crate::sts_endpoint::StsEndpoint;

#[derive(Clone, Default)]
struct Buf(Rc<RefCell<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buf {
    fn text(&self) -> String {
        String::from_utf8(self.0.borrow().clone()).unwrap()
    }
}

type Calls = Rc<RefCell<Vec<(String, i32, String)>>>;

/// STS as a list of AssumeRole calls (rejecting the codes in `reject`), and EKS.
struct FakeAws {
    calls: Calls,
    reject: Vec<&'static str>,
    now: SystemTime,
}

impl AwsApi for FakeAws {
    fn load_credentials(&self, req: &ChainRequest<'_>) -> Result<Credentials> {
        Err(Error::NoCredentials {
            detail: format!(" for profile `{}`", req.profile),
        })
    }

    fn assume_role(&self, req: &AssumeRoleRequest<'_>) -> Result<AssumedRole> {
        let n = self.calls.borrow().len();
        self.calls.borrow_mut().push((
            req.code.expose().clone(),
            req.duration_seconds,
            req.session_name.to_string(),
        ));
        assert_eq!(
            req.source.access_key_id, "AKIASOURCE",
            "signed with the source profile's keys"
        );
        if self.reject.contains(&req.code.expose().as_str()) {
            return Err(Error::MfaCodeRejected {
                device: req.mfa_serial.into(),
                hint: String::new(),
            });
        }
        let expires_at =
            self.now + Duration::from_secs(u64::try_from(req.duration_seconds).unwrap());
        Ok(AssumedRole {
            creds: Credentials {
                access_key_id: format!("ASIASESSION{n}"),
                secret_access_key: Secret::new(format!("session-secret-{n}")),
                session_token: Some(Secret::new(format!("session-token-{n}"))),
                expires_at: Some(expires_at),
            },
            expires_at,
            assumed_arn: format!(
                "arn:aws:sts::1:assumed-role/eks-operator/{}",
                req.session_name
            ),
            source_identity: req.source_identity.map(String::from),
            request_id: None,
        })
    }

    fn list_clusters(&self, req: &ListClustersRequest<'_>) -> Result<Vec<String>> {
        Ok(match req.region {
            "eu-west-1" => vec!["prod".into(), "staging".into()],
            _ => vec!["batch".into()],
        })
    }

    fn describe_cluster(&self, req: &DescribeClusterRequest<'_>) -> Result<ClusterInfo> {
        assert!(req.creds.access_key_id.starts_with("ASIASESSION"));
        Ok(ClusterInfo {
            arn: format!("arn:aws:eks:{}:1:cluster/{}", req.region, req.name),
            endpoint: "https://prod.eks.example".into(),
            ca_data: "Q0E=".into(),
        })
    }

    fn probe_sts(&self, url: &str, cluster: Option<&str>) -> Result<StsProbe> {
        Ok(StsProbe {
            status: 200,
            date: Some(self.now),
            arn: cluster
                .map(|_| "arn:aws:sts::1:assumed-role/eks-operator/alice".to_string())
                .filter(|_| url.contains("X-Amz-Signature")),
            detail: String::new(),
        })
    }

    fn self_subject_review(&self, _: &ReviewRequest<'_>) -> Result<Review> {
        Ok(Review {
            status: 201,
            username: Some("eks-operator:alice".into()),
            message: String::new(),
        })
    }

    fn caller_identity(&self, creds: &Credentials, _: &StsEndpoint) -> Result<Principal> {
        if creds.access_key_id.starts_with("AKIA") {
            return Ok(Principal::from_arn("arn:aws:iam::123456789012:user/alice").unwrap());
        }
        // Only the session's own keys name the session.
        assert!(creds.access_key_id.starts_with("ASIASESSION"), "{creds:?}");
        Ok(Principal {
            arn: "arn:aws:sts::1:assumed-role/eks-operator/alice".into(),
            name: "alice".into(),
            is_user: false,
        })
    }
}

const T0: u64 = 1_800_000_000;
const CONFIG: &str = "[profile src]\naws_access_key_id = AKIASOURCE\naws_secret_access_key = src-secret\n\
     [profile op]\nrole_arn = arn:aws:iam::1:role/eks-operator\nmfa_serial = arn:aws:iam::1:mfa/alice\n\
     source_profile = src\nregion = eu-west-1\n";

struct World {
    dir: tempfile::TempDir,
    ctx: Ctx,
    out: Buf,
    err: Buf,
    calls: Calls,
    store: Arc<MemoryStore>,
}

/// A home with an eks-operator profile `op`, `extra` environment, and a terminal that
/// answers `codes`.
fn world_with(codes: &[&str], reject: Vec<&'static str>, extra: &[(&str, &str)]) -> World {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, CONFIG).unwrap();
    let home = dir.path().to_str().unwrap().to_string();
    let mut pairs = vec![
        ("HOME", home.clone()),
        ("AWS_CONFIG_FILE", config.to_str().unwrap().to_string()),
        ("XDG_CACHE_HOME", format!("{home}/cache")),
        ("KUBECONFIG", format!("{home}/kube/config")),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let env = Env::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(T0);
    let (out, err) = (Buf::default(), Buf::default());
    let aws = FakeAws {
        calls: Rc::default(),
        reject,
        now,
    };
    let calls = aws.calls.clone();
    let script = Script::default();
    script
        .codes
        .borrow_mut()
        .extend(codes.iter().map(|c| c.to_string()));
    let store = Arc::new(MemoryStore::default());
    let ctx = Ctx::for_test(
        env,
        now,
        TestFakes {
            stdout: Box::new(out.clone()),
            stderr: Box::new(err.clone()),
            aws: Box::new(aws),
            sources: Box::new(script),
            store: store.clone(),
        },
    );
    World {
        dir,
        ctx,
        out,
        err,
        calls,
        store,
    }
}

fn world(codes: &[&str], reject: Vec<&'static str>, exec_info: Option<&str>) -> World {
    match exec_info {
        Some(info) => world_with(codes, reject, &[("KUBERNETES_EXEC_INFO", info)]),
        None => world_with(codes, reject, &[]),
    }
}

const INTERACTIVE: &str =
    r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}"#;

fn op_args() -> AwsArgs {
    AwsArgs {
        profile: Some("op".into()),
        region: None,
    }
}

fn token(w: &mut World) -> Result<serde_json::Value> {
    let before = w.out.text().len();
    let args = TokenArgs {
        cluster: Some("prod".into()),
        aws: op_args(),
    };
    crate::cmd::token::run(&mut w.ctx, &args)?;
    Ok(serde_json::from_str(&w.out.text()[before..]).unwrap())
}

fn login(w: &mut World) -> Result<()> {
    w.ctx.stdin_is_terminal = true;
    crate::cmd::login::run(&mut w.ctx, &LoginArgs { aws: op_args() })
}

#[test]
fn token_assumes_once_and_refreshes_fifteen_minutes_before_the_end() {
    let mut w = world(&["111111", "222222"], vec![], Some(INTERACTIVE));
    let doc = token(&mut w).unwrap();
    assert_eq!(doc["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(
        *w.calls.borrow(),
        [("111111".to_string(), 43_200, "alice".to_string())]
    );
    token(&mut w).unwrap();
    assert_eq!(w.calls.borrow().len(), 1, "the stored session is used");

    // 11h46m later: 14 minutes left, too little for a 15-minute token.
    w.ctx
        .set_now(SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + 43_200 - 14 * 60));
    token(&mut w).unwrap();
    assert_eq!(w.calls.borrow().len(), 2);
    assert_eq!(w.calls.borrow()[1].0, "222222");
}

#[test]
fn a_rejected_typed_code_is_asked_again_once() {
    let mut w = world(&["111111", "222222"], vec!["111111"], Some(INTERACTIVE));
    token(&mut w).unwrap();
    assert_eq!(w.calls.borrow().len(), 2);
    let mut w = world(
        &["111111", "333333"],
        vec!["111111", "333333"],
        Some(INTERACTIVE),
    );
    assert!(matches!(token(&mut w), Err(Error::MfaCodeRejected { .. })));
    assert_eq!(w.calls.borrow().len(), 2, "only one re-ask");
}

#[test]
fn nobody_to_ask_means_login_required_without_calling_sts() {
    let mut w = world(
        &["111111"],
        vec![],
        Some(
            r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}"#,
        ),
    );
    let err = token(&mut w).unwrap_err();
    assert!(matches!(err, Error::LoginRequired { .. }), "{err}");
    assert_eq!(err.exit_code(), crate::error::exit::LOGIN_REQUIRED);
    assert!(
        err.to_string()
            .contains("(none is stored; the calling program (kubectl or another Kubernetes client) did not hand over a terminal")
            && err
                .to_string()
                .contains("run `eksop-auth login --profile op`"),
        "{err}"
    );
    assert!(w.calls.borrow().is_empty());
    assert!(w.out.text().is_empty());
}

#[test]
fn login_replaces_the_session_and_guards_against_a_reused_code() {
    let mut w = world(&["123456", "123456", "654321"], vec![], None);
    login(&mut w).unwrap();
    assert!(w.err.text().contains(
        "Logged in as arn:aws:sts::1:assumed-role/eks-operator/alice; session valid until"
    ));
    assert!(w.err.text().contains("(12h)"), "{}", w.err.text());
    // The same code again in the same 30-second step: re-asked without an STS call.
    login(&mut w).unwrap();
    let codes: Vec<_> = w.calls.borrow().iter().map(|c| c.0.clone()).collect();
    assert_eq!(codes, ["123456", "654321"]);
    assert!(w.err.text().contains("already used"), "{}", w.err.text());
}

#[test]
fn credential_process_prints_the_stored_session() {
    let mut w = world(&["123456"], vec![], None);
    login(&mut w).unwrap();
    crate::cmd::credential_process::run(&mut w.ctx, &CredentialProcessArgs { aws: op_args() })
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&w.out.text()).unwrap();
    assert_eq!(doc["Version"], 1);
    assert_eq!(doc["AccessKeyId"], "ASIASESSION0");
    assert_eq!(doc["SessionToken"], "session-token-0");
    assert_eq!(doc["Expiration"], "2027-01-15T20:00:00Z");
    assert_eq!(w.calls.borrow().len(), 1, "no second AssumeRole");
}

#[test]
fn status_lists_and_verifies_and_logout_honours_aws_default_profile() {
    let mut w = world_with(&["123456"], vec![], &[("AWS_DEFAULT_PROFILE", "op")]);
    login(&mut w).unwrap();
    let status = |w: &mut World, verify| {
        let before = w.out.text().len();
        let args = StatusArgs {
            profile: None,
            verify,
        };
        crate::cmd::status::run(&mut w.ctx, &args).unwrap();
        w.out.text()[before..].to_string()
    };
    let text = status(&mut w, true);
    assert!(text.starts_with("profile op\n"), "{text}");
    assert!(text.contains("  store     memory\n"), "{text}");
    assert!(
        text.contains("verified  arn:aws:sts::1:assumed-role/eks-operator/alice (this is who the cluster sees)"),
        "{text}"
    );
    // No --profile: AWS_DEFAULT_PROFILE names it, as for every other command.
    let args = LogoutArgs {
        profile: None,
        all: false,
    };
    crate::cmd::logout::run(&mut w.ctx, &args).unwrap();
    assert!(
        w.err.text().contains("Logged out of profile `op`"),
        "{}",
        w.err.text()
    );
    assert!(w.store.get("op").unwrap().is_none());
    assert!(status(&mut w, false).starts_with("no sessions"));
}

#[test]
fn doctor_passes_with_a_session_and_fails_with_a_typed_error_without() {
    // A second code keeps the scripted terminal "attached" after login.
    let mut w = world(&["123456", "999999"], vec![], None);
    let args = DoctorArgs {
        aws: op_args(),
        cluster: None,
    };
    let err = crate::cmd::doctor::run(&mut w.ctx, &args).unwrap_err();
    assert!(matches!(err, Error::ChecksFailed { .. }), "{err}");
    assert_eq!(err.exit_code(), crate::error::exit::CHECK_FAILED);
    assert!(
        w.out
            .text()
            .contains("FAIL  session: none is stored; run `eksop-auth login --profile op`"),
        "{}",
        w.out.text()
    );
    login(&mut w).unwrap();
    let before = w.out.text().len();
    let result = crate::cmd::doctor::run(&mut w.ctx, &args);
    let text = &w.out.text()[before..];
    assert!(result.is_ok(), "{text}");
    assert!(
        text.contains("ok    session store: memory reads and writes"),
        "{text}"
    );
    assert!(
        text.contains("ok    MFA code source: a controlling terminal"),
        "{text}"
    );
    assert!(
        text.contains("the cluster will see arn:aws:sts::1:assumed-role/eks-operator/alice"),
        "{text}"
    );
    assert!(text.ends_with("all checks passed\n"), "{text}");
}

fn setup_args(dry_run: bool) -> SetupArgs {
    SetupArgs {
        prompt: None,
        cluster: Some("prod".into()),
        all_clusters: false,
        regions: Vec::new(),
        profile: "op".into(),
        source_profile: None,
        role_arn: None,
        mfa_serial: None,
        region: None,
        duration: None,
        mfa_process: None,
        no_source_identity: false,
        kuberc_allow: false,
        alias: Some("prod".into()),
        kubeconfig: None,
        endpoint: None,
        certificate_authority_data: None,
        cli_profile: Some("ops".into()),
        dry_run,
    }
}

#[test]
fn setup_shows_then_writes_both_files_with_the_cluster_from_eks() {
    let mut w = world(&["123456"], vec![], None);
    login(&mut w).unwrap();
    crate::cmd::setup::run(&mut w.ctx, &setup_args(true)).unwrap();
    let diff = w.out.text();
    assert!(diff.contains("+[profile ops]"), "{diff}");
    assert!(
        diff.contains("+    server: https://prod.eks.example"),
        "{diff}"
    );
    assert!(
        !w.dir.path().join("kube/config").exists(),
        "a dry run writes nothing"
    );

    crate::cmd::setup::run(&mut w.ctx, &setup_args(false)).unwrap();
    let kube = std::fs::read_to_string(w.dir.path().join("kube/config")).unwrap();
    assert!(
        kube.contains("command: /opt/eksop-auth/bin/eksop-auth"),
        "{kube}"
    );
    assert!(kube.contains("current-context: prod"), "{kube}");
    let config = std::fs::read_to_string(w.dir.path().join("config")).unwrap();
    assert!(config.starts_with(CONFIG), "{config}");
    assert!(
        config.contains(
            "[profile ops]\ncredential_process = /opt/eksop-auth/bin/eksop-auth credential-process --profile op\nregion = eu-west-1\n"
        ),
        "{config}"
    );
    assert!(w.err.text().contains("updated"), "{}", w.err.text());
    assert_eq!(w.calls.borrow().len(), 1, "setup used the stored session");
    assert!(!config.contains("set_source_identity"), "{config}");

    // For a role without sts:SetSourceIdentity the flag writes the profile key (which
    // tests/cli/identity.rs shows turns SourceIdentity off).
    let args = SetupArgs {
        no_source_identity: true,
        ..setup_args(false)
    };
    crate::cmd::setup::run(&mut w.ctx, &args).unwrap();
    let config = std::fs::read_to_string(w.dir.path().join("config")).unwrap();
    assert!(
        config.contains("\nset_source_identity = false\n"),
        "{config}"
    );
}

/// Secret Service refusing the write while the kernel keyring keeps it.
struct HalfStore(MemoryStore);

impl SecretStore for HalfStore {
    fn backends(&self) -> Vec<crate::store::Backend> {
        vec![
            crate::store::Backend::SecretService,
            crate::store::Backend::Keyutils,
        ]
    }
    fn get(&self, key: &str) -> Result<Option<Secret<String>>> {
        self.0.get(key)
    }
    fn set(&self, key: &str, value: &Secret<String>, label: &str) -> Result<()> {
        self.0.set(key, value, label)?;
        Err(Error::Store {
            backend: crate::store::Backend::SecretService,
            detail: "write: prompt dismissed".into(),
        })
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.0.delete(key)
    }
    fn keys(&self) -> Result<Vec<String>> {
        self.0.keys()
    }
}

#[test]
fn a_durable_store_that_fails_is_one_clear_warning() {
    let mut w = world(&["111111"], vec![], Some(INTERACTIVE));
    w.ctx
        .set_stores(crate::store::Stores::custom(Arc::new(HalfStore(
            MemoryStore::default(),
        ))));
    token(&mut w).unwrap();
    let err = w.err.text();
    assert!(
        err.contains("warning: could not keep the session in the durable keyring (secret-service keyring: write: prompt dismissed); it is kept in the kernel keyring only, until the next reboot"),
        "{err}"
    );
    assert!(!err.contains("ask for MFA again"), "{err}");
    token(&mut w).unwrap();
    assert_eq!(w.calls.borrow().len(), 1, "the kept copy is used");
}

#[test]
fn setup_all_clusters_shares_one_user_per_region_and_one_session() {
    let mut w = world(&["123456"], vec![], None);
    let all = |dry_run: bool| SetupArgs {
        cluster: None,
        all_clusters: true,
        regions: vec!["eu-west-1".into(), "us-east-1".into()],
        alias: Some("{cluster}-{region}".into()),
        cli_profile: None,
        ..setup_args(dry_run)
    };
    // A dry run needs the stored session to list with: none yet.
    let e = crate::cmd::setup::run(&mut w.ctx, &all(true)).unwrap_err();
    assert!(
        e.to_string()
            .contains("run `eksop-auth login --profile op` first"),
        "{e}"
    );
    assert!(w.calls.borrow().is_empty(), "no code was asked for");

    login(&mut w).unwrap();
    crate::cmd::setup::run(&mut w.ctx, &all(false)).unwrap();
    assert_eq!(w.calls.borrow().len(), 1, "one session for every cluster");
    let kube = std::fs::read_to_string(w.dir.path().join("kube/config")).unwrap();
    for (cluster, region) in [
        ("prod", "eu-west-1"),
        ("staging", "eu-west-1"),
        ("batch", "us-east-1"),
    ] {
        assert!(
            kube.contains(&format!("- name: {cluster}-{region}\n")),
            "{kube}"
        );
        assert!(
            kube.contains(&format!("cluster: {cluster}\n")),
            "extension: {kube}"
        );
    }
    for user in ["eksop-auth:op:eu-west-1", "eksop-auth:op:us-east-1"] {
        assert_eq!(
            kube.matches(&format!("- name: {user}\n")).count(),
            1,
            "{kube}"
        );
    }
    assert!(kube.contains("provideClusterInfo: true"), "{kube}");
    assert!(
        w.err.text().contains("3 clusters, shared user"),
        "{}",
        w.err.text()
    );
    // Again: the same contexts, not new ones, and the dry run now shows nothing to do.
    crate::cmd::setup::run(&mut w.ctx, &all(false)).unwrap();
    assert_eq!(
        std::fs::read_to_string(w.dir.path().join("kube/config")).unwrap(),
        kube
    );
    crate::cmd::setup::run(&mut w.ctx, &all(true)).unwrap();
    assert!(w.out.text().contains("no changes"), "{}", w.out.text());

    // One context name for several clusters cannot be.
    let one_name = SetupArgs {
        alias: Some("ops".into()),
        ..all(false)
    };
    let e = crate::cmd::setup::run(&mut w.ctx, &one_name).unwrap_err();
    assert!(e.to_string().contains("put `{cluster}` in it"), "{e}");
}

#[test]
fn setup_without_a_cluster_and_without_a_terminal_says_what_to_pass() {
    let mut w = world(&[], vec![], None);
    let args = SetupArgs {
        cluster: None,
        ..setup_args(false)
    };
    let e = crate::cmd::setup::run(&mut w.ctx, &args).unwrap_err();
    assert!(
        e.to_string()
            .contains("pass --cluster NAME, or --all-clusters"),
        "{e}"
    );
    assert!(w.calls.borrow().is_empty());
    assert!(!w.dir.path().join("kube/config").exists());
}

#[test]
fn setup_all_clusters_updates_a_context_a_cluster_already_has() {
    let mut w = world(&["123456"], vec![], None);
    login(&mut w).unwrap();
    // `prod` was set up alone before, under the context name `prod`.
    crate::cmd::setup::run(&mut w.ctx, &setup_args(false)).unwrap();
    let all = SetupArgs {
        cluster: None,
        all_clusters: true,
        alias: None,
        cli_profile: None,
        ..setup_args(false)
    };
    crate::cmd::setup::run(&mut w.ctx, &all).unwrap();
    let kube = std::fs::read_to_string(w.dir.path().join("kube/config")).unwrap();
    let contexts: Vec<&str> = kube
        .lines()
        .skip_while(|l| *l != "contexts:")
        .skip(1)
        .take_while(|l| l.starts_with(['-', ' ']))
        .filter_map(|l| l.strip_prefix("- name: "))
        .collect();
    assert_eq!(
        contexts,
        ["prod", "arn:aws:eks:eu-west-1:1:cluster/staging"],
        "prod's context is reused, not joined by an ARN-named one: {kube}"
    );
    assert_eq!(w.calls.borrow().len(), 1);
}
