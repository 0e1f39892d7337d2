//! In-process command tests: the real command code with `Ctx::for_test` — a fixed clock, a
//! fake AWS, a scripted prompter, an in-memory store, captured output.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::aws::{
    AssumeRoleRequest, AssumedRole, AwsApi, ChainRequest, ClusterInfo, DescribeClusterRequest,
    Identity, StsProbe,
};
use crate::cli::{AwsArgs, LoginArgs, TokenArgs};
use crate::ctx::{Ctx, Env, TestFakes};
use crate::error::{Error, Result};
use crate::prompt::ScriptedPrompter;
use crate::secret::Secret;
use crate::session::Credentials;
use crate::store::MemoryStore;
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

/// STS as a list of AssumeRole calls; rejects the codes in `reject`.
struct FakeSts {
    calls: Rc<RefCell<Vec<(String, i32, String)>>>,
    reject: Vec<&'static str>,
    now: SystemTime,
}

impl AwsApi for FakeSts {
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
        Ok(AssumedRole {
            creds: Credentials {
                access_key_id: format!("ASIASESSION{n}"),
                secret_access_key: Secret::new(format!("session-secret-{n}")),
                session_token: Some(Secret::new(format!("session-token-{n}"))),
                expires_at: Some(
                    self.now + Duration::from_secs(u64::try_from(req.duration_seconds).unwrap()),
                ),
            },
            assumed_arn: format!(
                "arn:aws:sts::1:assumed-role/eks-operator/{}",
                req.session_name
            ),
            request_id: None,
        })
    }

    fn describe_cluster(&self, _: &DescribeClusterRequest<'_>) -> Result<ClusterInfo> {
        unreachable!("not used here")
    }

    fn probe_sts(&self, _: &str, _: Option<&str>) -> Result<StsProbe> {
        unreachable!("not used here")
    }

    fn caller_identity(&self, _: &Credentials, _: &StsEndpoint) -> Result<Identity> {
        unreachable!("not used here")
    }
}

const T0: u64 = 1_800_000_000;

struct World {
    _dir: tempfile::TempDir,
    ctx: Ctx,
    out: Buf,
    err: Buf,
    calls: Rc<RefCell<Vec<(String, i32, String)>>>,
}

/// A home with an eks-operator profile `op` and `KUBERNETES_EXEC_INFO` as given.
fn world(codes: &[&str], reject: Vec<&'static str>, exec_info: Option<&str>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "[profile src]\naws_access_key_id = AKIASOURCE\naws_secret_access_key = src-secret\n\
         [profile op]\nrole_arn = arn:aws:iam::1:role/eks-operator\nmfa_serial = arn:aws:iam::1:mfa/alice\n\
         source_profile = src\nregion = eu-west-1\n",
    )
    .unwrap();
    let home = dir.path().to_str().unwrap().to_string();
    let mut pairs = vec![
        ("HOME", home.clone()),
        ("AWS_CONFIG_FILE", config.to_str().unwrap().to_string()),
        ("XDG_CACHE_HOME", format!("{home}/cache")),
    ];
    if let Some(info) = exec_info {
        pairs.push(("KUBERNETES_EXEC_INFO", info.to_string()));
    }
    let env = Env::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(T0);
    let (out, err) = (Buf::default(), Buf::default());
    let sts = FakeSts {
        calls: Rc::default(),
        reject,
        now,
    };
    let calls = sts.calls.clone();
    let prompter = ScriptedPrompter {
        codes: codes.iter().map(|c| c.to_string()).collect::<VecDeque<_>>(),
        asked: 0,
    };
    let ctx = Ctx::for_test(
        env,
        now,
        TestFakes {
            stdout: Box::new(out.clone()),
            stderr: Box::new(err.clone()),
            aws: Box::new(sts),
            prompter: Box::new(prompter),
            store: Arc::new(MemoryStore::default()),
        },
    );
    World {
        _dir: dir,
        ctx,
        out,
        err,
        calls,
    }
}

const INTERACTIVE: &str =
    r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}"#;

fn token_args() -> TokenArgs {
    TokenArgs {
        cluster: "prod".into(),
        aws: AwsArgs {
            profile: Some("op".into()),
            region: None,
        },
    }
}

fn token(w: &mut World) -> Result<serde_json::Value> {
    let before = w.out.text().len();
    crate::cmd::token::run(&mut w.ctx, &token_args())?;
    Ok(serde_json::from_str(&w.out.text()[before..]).unwrap())
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
    assert!(
        err.to_string()
            .contains("run `eksop-auth login --profile op`")
    );
    assert!(w.calls.borrow().is_empty());
    assert!(w.out.text().is_empty());
}

#[test]
fn login_replaces_the_session_and_guards_against_a_reused_code() {
    let mut w = world(&["123456", "123456", "654321"], vec![], None);
    w.ctx.stdin_is_terminal = true;
    let args = LoginArgs {
        aws: AwsArgs {
            profile: Some("op".into()),
            region: None,
        },
    };
    crate::cmd::login::run(&mut w.ctx, &args).unwrap();
    assert!(w.err.text().contains(
        "Logged in as arn:aws:sts::1:assumed-role/eks-operator/alice; session valid until"
    ));
    assert!(w.err.text().contains("(12h)"), "{}", w.err.text());
    // The same code again in the same 30-second step: re-asked without an STS call.
    crate::cmd::login::run(&mut w.ctx, &args).unwrap();
    let codes: Vec<_> = w.calls.borrow().iter().map(|c| c.0.clone()).collect();
    assert_eq!(codes, ["123456", "654321"]);
    assert!(w.err.text().contains("already used"), "{}", w.err.text());
}
