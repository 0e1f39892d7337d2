//! The AWS seam: what the program needs from AWS, as a trait with our own types. `sdk.rs`
//! implements it over aws-config and the SDK clients (the only code that imports them);
//! `http.rs` is the one HTTP stack under both the SDK and the raw GETs of `doctor`.

mod answer;
mod http;
mod sdk;

use std::time::SystemTime;

pub(crate) use sdk::SdkAws;

use crate::credentials::Credentials;
use crate::error::Result;
use crate::secret::Secret;
use crate::sts_endpoint::StsEndpoint;

/// What AssumeRole needs: the source (IAM user) keys, the role and the MFA proof.
#[derive(Debug)]
pub(crate) struct AssumeRoleRequest<'a> {
    pub(crate) source: &'a Credentials,
    pub(crate) endpoint: &'a StsEndpoint,
    pub(crate) role_arn: &'a str,
    pub(crate) session_name: &'a str,
    /// SourceIdentity to set (the IAM user name), or none.
    pub(crate) source_identity: Option<&'a str>,
    /// Who the source keys belong to, when it was asked (for messages about the names).
    pub(crate) caller: Option<&'a crate::identity::Principal>,
    pub(crate) mfa_serial: &'a str,
    pub(crate) code: &'a Secret<String>,
    pub(crate) duration_seconds: i32,
    /// For error messages (`duration_seconds` lives in this profile).
    pub(crate) profile: &'a str,
}

/// A role session as STS returned it.
#[derive(Debug)]
pub(crate) struct AssumedRole {
    pub(crate) creds: Credentials,
    pub(crate) expires_at: SystemTime,
    pub(crate) assumed_arn: String,
    /// The SourceIdentity set on the session (as sent; STS echoes it).
    pub(crate) source_identity: Option<String>,
    pub(crate) request_id: Option<String>,
}

/// Which cluster to describe, where, with what.
#[derive(Debug)]
pub(crate) struct DescribeClusterRequest<'a> {
    pub(crate) creds: &'a Credentials,
    pub(crate) region: &'a str,
    /// `AWS_ENDPOINT_URL_EKS` / `AWS_ENDPOINT_URL`, when set.
    pub(crate) endpoint_url: Option<&'a str>,
    pub(crate) name: &'a str,
}

/// Where to list clusters, with what.
#[derive(Debug)]
pub(crate) struct ListClustersRequest<'a> {
    pub(crate) creds: &'a Credentials,
    pub(crate) region: &'a str,
    /// `AWS_ENDPOINT_URL_EKS` / `AWS_ENDPOINT_URL`, when set.
    pub(crate) endpoint_url: Option<&'a str>,
}

/// What kubeconfig needs about a cluster.
#[derive(Debug, Clone)]
pub(crate) struct ClusterInfo {
    pub(crate) arn: String,
    pub(crate) endpoint: String,
    pub(crate) ca_data: String,
}

/// What a plain GET to STS answered.
#[derive(Debug, Clone)]
pub(crate) struct StsProbe {
    pub(crate) status: u16,
    pub(crate) date: Option<SystemTime>,
    pub(crate) arn: Option<String>,
    /// The error code or message of a refusal, for people.
    pub(crate) detail: String,
}

/// A Kubernetes API server to ask who a token is.
#[derive(Debug)]
pub(crate) struct ReviewRequest<'a> {
    /// The kubeconfig cluster's `server`.
    pub(crate) server: &'a str,
    /// Its `certificate-authority-data`, decoded (PEM): the only CA trusted.
    pub(crate) ca_pem: &'a [u8],
    pub(crate) token: &'a Secret<String>,
}

/// What a SelfSubjectReview answered.
#[derive(Debug, Clone)]
pub(crate) struct Review {
    pub(crate) status: u16,
    /// `status.userInfo.username` of a successful answer.
    pub(crate) username: Option<String>,
    /// The `message` of a refusal, for people.
    pub(crate) message: String,
}

/// Which part of the standard credential chain to ask.
#[derive(Debug, Clone)]
pub(crate) struct ChainRequest<'a> {
    pub(crate) profile: &'a str,
    /// `false` when the user named the profile on the command line: then the environment's
    /// keys must not win over it (botocore's rule for `--profile`).
    pub(crate) use_env: bool,
    pub(crate) region: Option<&'a str>,
}

/// What the program needs from AWS.
pub(crate) trait AwsApi {
    /// The standard credential chain (env, profile with keys / credential_process / SSO /
    /// role, web identity, container, instance metadata).
    fn load_credentials(&self, req: &ChainRequest<'_>) -> Result<Credentials>;

    /// STS AssumeRole with SerialNumber + TokenCode + DurationSeconds, signed with the
    /// source credentials directly (never after GetSessionToken: that would be role
    /// chaining, capped at one hour).
    fn assume_role(&self, req: &AssumeRoleRequest<'_>) -> Result<AssumedRole>;

    /// EKS ListClusters (every page): the cluster names in a region.
    fn list_clusters(&self, req: &ListClustersRequest<'_>) -> Result<Vec<String>>;

    /// EKS DescribeCluster: the endpoint, CA data and ARN kubeconfig needs.
    fn describe_cluster(&self, req: &DescribeClusterRequest<'_>) -> Result<ClusterInfo>;

    /// A plain GET of an STS URL, as the EKS API server sends a token's presigned URL
    /// (with `x-k8s-aws-id` when `cluster` is given): status, `Date` header, caller ARN.
    fn probe_sts(&self, url: &str, cluster: Option<&str>) -> Result<StsProbe>;

    /// STS GetCallerIdentity with these credentials: the caller, its ARN checked.
    fn caller_identity(
        &self,
        creds: &Credentials,
        endpoint: &StsEndpoint,
    ) -> Result<crate::identity::Principal>;

    /// A Kubernetes SelfSubjectReview (`kubectl auth whoami`'s API) with a bearer token:
    /// the user name the cluster maps the token to.
    fn self_subject_review(&self, req: &ReviewRequest<'_>) -> Result<Review>;
}
