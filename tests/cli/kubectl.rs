//! The real kubectl runs `eksop-auth token` from a kubeconfig exec block against an HTTPS
//! fake API server that verifies the bearer token like EKS does.

use crate::fakes::{ApiServer, kubeconfig};
use crate::harness::{AKID, BIN, Home, SECRET, SESSION_TOKEN, run};

fn kubectl_version(
    cluster_in_token: &str,
    server_cluster: &str,
    exec_api: &str,
) -> (crate::harness::Output, ApiServer) {
    let server = ApiServer::start(server_cluster, &[(AKID, SECRET)]);
    let mut home = Home::new();
    home.with_env_keys()
        .set("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .set("AWS_REGION", "eu-west-1");
    home.write(
        ".kube/config",
        &kubeconfig(
            server.url(),
            server.ca_data(),
            BIN,
            &["token", "--cluster", cluster_in_token],
            exec_api,
        ),
    );
    let out = run(home.command("kubectl").args(["get", "--raw", "/version"]));
    (out, server)
}

#[test]
fn kubectl_authenticates_with_our_token() {
    let (out, server) = kubectl_version("prod", "prod", "client.authentication.k8s.io/v1beta1");
    out.success();
    let version: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(version["gitVersion"], "v1.32.0-eksop-fake");
    let log = server.log();
    assert!(
        !log.is_empty() && log.iter().all(|e| e["ok"] == true),
        "{log:?}"
    );
}

#[test]
fn kubectl_with_v1_exec_api() {
    let (out, _server) = kubectl_version("prod", "prod", "client.authentication.k8s.io/v1");
    out.success();
}

#[test]
fn token_for_another_cluster_is_rejected_with_401() {
    let (out, server) = kubectl_version("staging", "prod", "client.authentication.k8s.io/v1beta1");
    out.failure();
    assert!(
        out.stderr.contains("Unauthorized") || out.stderr.contains("logged in"),
        "{}",
        out.stderr
    );
    let log = server.log();
    assert!(!log.is_empty(), "the server saw no request");
    assert!(
        log.iter().all(|e| e["ok"] == false
            && e["reason"]
                .as_str()
                .unwrap()
                .contains("SignatureDoesNotMatch")),
        "{log:?}"
    );
}
