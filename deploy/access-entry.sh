#!/usr/bin/env bash
# For clusters in API or API_AND_CONFIG_MAP authentication mode: give the eks-operator role
# cluster-admin with an EKS access entry (no Kubernetes manifest to apply).
#   deploy/access-entry.sh CLUSTER ROLE_ARN [REGION]
# Run it as the cluster creator (or anyone allowed eks:CreateAccessEntry and
# eks:AssociateAccessPolicy). Safe to re-run.
set -euo pipefail
cluster="${1:?usage: $0 CLUSTER ROLE_ARN [REGION]}"
role_arn="${2:?usage: $0 CLUSTER ROLE_ARN [REGION]}"
region_args=()
[ -n "${3:-}" ] && region_args=(--region "$3")
partition="$(cut -d: -f2 <<<"$role_arn")"

mode="$(aws eks describe-cluster --name "$cluster" "${region_args[@]}" \
  --query cluster.accessConfig.authenticationMode --output text)"
if [ "$mode" = "CONFIG_MAP" ]; then
  echo "cluster $cluster uses CONFIG_MAP authentication: use deploy/aws-auth-configmap.yaml," >&2
  echo "or switch first: aws eks update-cluster-config --name $cluster --access-config authenticationMode=API_AND_CONFIG_MAP" >&2
  exit 1
fi

if ! aws eks describe-access-entry --cluster-name "$cluster" --principal-arn "$role_arn" \
     "${region_args[@]}" >/dev/null 2>&1; then
  aws eks create-access-entry --cluster-name "$cluster" --principal-arn "$role_arn" \
    --type STANDARD "${region_args[@]}" >/dev/null
  echo "created access entry for $role_arn"
fi
aws eks associate-access-policy --cluster-name "$cluster" --principal-arn "$role_arn" \
  --policy-arn "arn:${partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" \
  --access-scope type=cluster "${region_args[@]}" >/dev/null
echo "$role_arn now has AmazonEKSClusterAdminPolicy on cluster $cluster"
