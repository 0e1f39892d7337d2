#!/usr/bin/env bash
# Rotate the eks-operator role: replace it with a role under the next name (eks-operator ->
# eks-operator-2 -> eks-operator-3 ...), map the new role on every cluster and remove the old
# role's mapping, so that every session of the old role loses the clusters at once.
#
# Why: an EKS token is a presigned sts:GetCallerIdentity, and GetCallerIdentity succeeds
# whatever IAM policies say. Neither an inline deny nor "revoke active sessions" takes a
# removed admin off a cluster: their role session (up to 12 h) keeps working for as long as
# the cluster maps the role it belongs to. Taking the mapping away is what works.
#
# Deleting the old IAM role alone is NOT enough: aws-auth maps by ARN string, so a role ever
# created again under the old name would be let back in by the old entry. (An access entry
# is bound to the role's unique id, so a recreated role does not match it, but a stale entry
# is still clutter to remove.) Removing the old role's mapping on every cluster is what cuts
# the old sessions off the cluster; this script does that (access entries) or prints the
# exact change to apply (aws-auth).
#
# Runs on bash 3.2 (macOS) too: empty arrays are expanded as ${a[@]+"${a[@]}"} under set -u.
#
# Order: (a) update the stack: CloudFormation creates the new role, points the users'
# AssumeEksOperator policy at it and deletes the old role; (b) per cluster, map the new role
# (the same commands as deploy/access-entry.sh); (c) delete the old role's access entry. The
# new role's access entry cannot come first: the role does not exist before (a).
#
# Needs only the aws CLI (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL ... are honoured). Run it
# as someone allowed to update the stack (cloudformation:UpdateStack and the IAM calls it
# makes) and, for access-entry clusters, eks:CreateAccessEntry, eks:AssociateAccessPolicy
# and eks:DeleteAccessEntry. --dry-run makes read calls only.
set -euo pipefail

me="${0##*/}"
export AWS_PAGER=""

usage() {
  cat <<EOF
usage: $0 --stack STACK --cluster CLUSTER [--cluster CLUSTER2 ...]
         [--region REGION] [--mapping auto|access-entry|aws-auth] [--dry-run]

Replace the eks-operator role made by the CloudFormation stack STACK
(deploy/eks-operator-role.yaml) with a role under the next name (eks-operator ->
eks-operator-2, eks-operator-N -> eks-operator-N+1), map the new role on every CLUSTER and
remove the old role's mapping: every session of the old role (a removed admin's too) loses
the clusters at once. The plan is printed first, always.

  --stack STACK        the stack that created the role
  --cluster CLUSTER    an EKS cluster that maps the role (repeat for each cluster)
  --region REGION      the region of the stack and the clusters (default: the aws CLI's)
  --mapping MODE       how the clusters map the role: auto (default: from each cluster's
                       authentication mode), access-entry or aws-auth
  --dry-run            print the plan and change nothing (read calls only)
  -h, --help           this help

Afterwards every remaining admin runs \`eksop-auth setup --role-arn NEW_ARN ...\` and
\`eksop-auth login\` once (the plan prints the exact command).
EOF
}

usage_error() {
  echo "$me: $1" >&2
  usage >&2
  exit 2
}

die() {
  echo "$me: $*" >&2
  exit 1
}

stack=""
clusters=()
region=""
mapping="auto"
dry_run=false

need_value() {
  if [ $# -lt 2 ] || [ -z "$2" ] || [ "${2:0:2}" = "--" ]; then
    usage_error "$1 needs a value"
  fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --stack) need_value "$@"; stack="$2"; shift 2 ;;
    --stack=*) stack="${1#*=}"; shift ;;
    --cluster) need_value "$@"; clusters+=("$2"); shift 2 ;;
    --cluster=*) clusters+=("${1#*=}"); shift ;;
    --region) need_value "$@"; region="$2"; shift 2 ;;
    --region=*) region="${1#*=}"; shift ;;
    --mapping) need_value "$@"; mapping="$2"; shift 2 ;;
    --mapping=*) mapping="${1#*=}"; shift ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown option: $1" ;;
  esac
done

[ -n "$stack" ] || usage_error "--stack is required"
[ "${#clusters[@]}" -gt 0 ] || usage_error "at least one --cluster is required"
case "$mapping" in
  auto | access-entry | aws-auth) ;;
  *) usage_error "--mapping must be auto, access-entry or aws-auth, not '$mapping'" ;;
esac

# Each cluster once, in the order given.
unique=()
for c in "${clusters[@]}"; do
  case " ${unique[*]+${unique[*]}} " in *" $c "*) ;; *) unique+=("$c") ;; esac
done
clusters=("${unique[@]}")

region_args=()
where=" in the aws CLI's default region"
if [ -n "$region" ]; then
  region_args=(--region "$region")
  where=" in region $region"
fi

errf="$(mktemp)"
trap 'rm -f "$errf"' EXIT

# The last aws error, on one line.
errtext() {
  tr -s '\n' ' ' <"$errf" | sed 's/^ *//; s/ *$//'
}

# The aws CLI with --region when given.
awsr() {
  aws "$@" ${region_args[@]+"${region_args[@]}"}
}

# ---- 1. The stack: current role name and ARN, the next name. ----------------------------

if ! info="$(awsr cloudformation describe-stacks --stack-name "$stack" --output text \
  --query "Stacks[0].[StackStatus, Parameters[?ParameterKey=='RoleName'] | [0].ParameterValue, Outputs[?OutputKey=='RoleArn'] | [0].OutputValue]" \
  2>"$errf")"; then
  if grep -q "does not exist" "$errf"; then
    die "there is no CloudFormation stack '$stack'$where: pass --stack with the name of the stack created from deploy/eks-operator-role.yaml (aws cloudformation list-stacks lists them), and --region if it is in another region"
  fi
  die "cannot read CloudFormation stack '$stack'$where: $(errtext)"
fi
IFS=$'\t' read -r status old_name old_arn <<<"$info"

if [ -z "${old_name:-}" ] || [ "$old_name" = "None" ]; then
  die "stack '$stack' has no RoleName parameter: it was not created from deploy/eks-operator-role.yaml; update it with the current template first (aws cloudformation deploy --template-file deploy/eks-operator-role.yaml --stack-name $stack --capabilities CAPABILITY_NAMED_IAM)"
fi
if [ -z "${old_arn:-}" ] || [ "$old_arn" = "None" ]; then
  die "stack '$stack' has no RoleArn output: it was not created from deploy/eks-operator-role.yaml; update it with the current template first (aws cloudformation deploy --template-file deploy/eks-operator-role.yaml --stack-name $stack --capabilities CAPABILITY_NAMED_IAM)"
fi
if [ "${old_arn##*/}" != "$old_name" ]; then
  die "stack '$stack': output RoleArn $old_arn does not end in its RoleName $old_name; fix the stack first"
fi
case "$status" in
  CREATE_COMPLETE | UPDATE_COMPLETE | UPDATE_ROLLBACK_COMPLETE | IMPORT_COMPLETE | IMPORT_ROLLBACK_COMPLETE) ;;
  *_IN_PROGRESS) die "stack '$stack' is $status: wait until it finishes (aws cloudformation describe-stacks --stack-name $stack), then run this again" ;;
  *) die "stack '$stack' is $status and cannot be updated: see aws cloudformation describe-stack-events --stack-name $stack" ;;
esac

# Every other parameter keeps its value.
if ! other_keys="$(awsr cloudformation describe-stacks --stack-name "$stack" --output text \
  --query "Stacks[0].Parameters[?ParameterKey!='RoleName'].ParameterKey" 2>"$errf")"; then
  die "cannot read the parameters of stack '$stack': $(errtext)"
fi
keep=()
kept=""
read -r -a other <<<"$other_keys"
for key in ${other[@]+"${other[@]}"}; do
  [ "$key" = "None" ] && continue
  keep+=("ParameterKey=$key,UsePreviousValue=true")
  kept="${kept:+$kept, }$key"
done

# eks-operator -> eks-operator-2, eks-operator-N -> eks-operator-(N+1).
if [[ "$old_name" =~ ^(.+)-([0-9]+)$ ]]; then
  new_name="${BASH_REMATCH[1]}-$((10#${BASH_REMATCH[2]} + 1))"
else
  new_name="$old_name-2"
fi
if [ "${#new_name}" -gt 64 ]; then
  die "the next role name $new_name is longer than IAM's 64 characters: deploy the stack with a shorter RoleName"
fi
new_arn="${old_arn%/*}/$new_name"
partition="$(cut -d: -f2 <<<"$old_arn")"
admin_policy="arn:${partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

# ---- 2. Each cluster's mapping (all checked before anything changes). -------------------

kinds=()
modes=()
for c in "${clusters[@]}"; do
  if ! mode="$(awsr eks describe-cluster --name "$c" --output text \
    --query cluster.accessConfig.authenticationMode 2>"$errf")"; then
    die "cannot read EKS cluster '$c'$where: $(errtext) Check the name (aws eks list-clusters) and --region."
  fi
  mode="${mode:-None}"
  case "$mapping" in
    auto)
      case "$mode" in
        API | API_AND_CONFIG_MAP) kind="access-entry" ;;
        CONFIG_MAP | None) kind="aws-auth" ;;
        *) die "cluster '$c' has authentication mode '$mode', which this script does not know: pass --mapping access-entry or --mapping aws-auth" ;;
      esac
      ;;
    access-entry)
      if [ "$mode" = "CONFIG_MAP" ]; then
        die "cluster '$c' uses CONFIG_MAP authentication, which has no access entries: use --mapping aws-auth (or switch it first: aws eks update-cluster-config --name $c --access-config authenticationMode=API_AND_CONFIG_MAP)"
      fi
      kind="access-entry"
      ;;
    aws-auth)
      if [ "$mode" = "API" ]; then
        die "cluster '$c' uses API authentication, which ignores aws-auth: use --mapping access-entry"
      fi
      kind="aws-auth"
      ;;
  esac
  kinds+=("$kind")
  modes+=("$mode")
done

# ---- 3. The plan. ------------------------------------------------------------------------

echo "plan: update stack $stack: RoleName $old_name -> $new_name (CloudFormation replaces the role; the users' AssumeEksOperator policy follows it${kept:+; $kept keep their values})"
auth_clusters=()
for i in "${!clusters[@]}"; do
  c="${clusters[$i]}"
  if [ "${kinds[$i]}" = "access-entry" ]; then
    echo "plan: cluster $c (access entry): create access entry for $new_arn with AmazonEKSClusterAdminPolicy"
    echo "plan: cluster $c (access entry): delete access entry for $old_arn"
    if [ "${modes[$i]}" = "API_AND_CONFIG_MAP" ]; then
      echo "plan: cluster $c (access entry): the cluster also reads aws-auth: if kube-system/aws-auth maps $old_arn, remove that entry too (it would keep the old sessions in)"
    fi
  else
    echo "plan: cluster $c (aws-auth): in kube-system/aws-auth mapRoles, change rolearn $old_arn to $new_arn (printed below; apply it with kubectl)"
    auth_clusters+=("$c")
  fi
done
echo "note: removing the old role's mapping is what cuts its sessions off the cluster; deleting the IAM role alone is not enough (an old aws-auth entry would let a role created again under the name $old_name back in)"

aws_auth_snippet() {
  local names
  names="$(printf '%s, ' "${auth_clusters[@]}")"
  cat <<EOF
aws-auth (cluster ${names%, }): in \`kubectl -n kube-system edit configmap aws-auth\`, data.mapRoles,
add this entry (safe at any time, even before the new role exists, so best before the stack update):
    - rolearn: $new_arn
      username: eks-operator:{{SessionName}}
      groups:
        - system:masters
then, after the stack update, remove this one:
    - rolearn: $old_arn
      username: eks-operator:{{SessionName}}
      groups:
        - system:masters
Removing the old rolearn entry is what cuts every session of the old role off the cluster. Edit
from a session that still works (the old role's sessions keep working until the removal) or
as the cluster creator.
EOF
}

then_line() {
  local region_opt="" setups="" c
  [ -n "$region" ] && region_opt=" --region $region"
  for c in "${clusters[@]}"; do
    setups="${setups:+$setups && }eksop-auth setup --role-arn $new_arn --cluster $c$region_opt --profile PROFILE"
  done
  echo "then: every admin runs: $setups && eksop-auth login --profile PROFILE"
  echo "then: (PROFILE: their eks-operator profile in ~/.aws/config; setup changes its role_arn and keeps the rest)"
}

if $dry_run; then
  [ "${#auth_clusters[@]}" -eq 0 ] || aws_auth_snippet
  then_line
  echo "dry run: nothing changed"
  exit 0
fi

# ---- 4. Carry it out. --------------------------------------------------------------------

if ! awsr cloudformation update-stack --stack-name "$stack" --use-previous-template \
  --capabilities CAPABILITY_NAMED_IAM \
  --parameters "ParameterKey=RoleName,ParameterValue=$new_name" ${keep[@]+"${keep[@]}"} \
  >/dev/null 2>"$errf"; then
  die "the update of stack '$stack' was refused: $(errtext) (nothing was changed)"
fi
echo "done: stack $stack: update started (RoleName $new_name); waiting for it to complete"
if ! awsr cloudformation wait stack-update-complete --stack-name "$stack" >/dev/null 2>"$errf"; then
  now="$(awsr cloudformation describe-stacks --stack-name "$stack" --output text \
    --query 'Stacks[0].StackStatus' 2>/dev/null || echo unknown)"
  die "the update of stack '$stack' did not complete (status $now): see aws cloudformation describe-stack-events --stack-name $stack. The clusters were not changed."
fi
if ! got_arn="$(awsr cloudformation describe-stacks --stack-name "$stack" --output text \
  --query "Stacks[0].Outputs[?OutputKey=='RoleArn'] | [0].OutputValue" 2>"$errf")"; then
  die "cannot read stack '$stack' after its update: $(errtext)"
fi
if [ "$got_arn" != "$new_arn" ]; then
  echo "$me: note: the stack's RoleArn is $got_arn, not $new_arn as planned; using it" >&2
  new_arn="$got_arn"
fi
echo "done: stack $stack: role $new_arn created, $old_arn deleted; the users' AssumeEksOperator policy now names $new_arn"

# The same commands as deploy/access-entry.sh. These functions run in an `if`, where set -e
# does not apply, so every step checks for itself.
map_new_role() {
  local c="$1"
  if ! awsr eks describe-access-entry --cluster-name "$c" --principal-arn "$new_arn" \
    >/dev/null 2>&1; then
    awsr eks create-access-entry --cluster-name "$c" --principal-arn "$new_arn" \
      --type STANDARD >/dev/null 2>"$errf" || return 1
  fi
  awsr eks associate-access-policy --cluster-name "$c" --principal-arn "$new_arn" \
    --policy-arn "$admin_policy" --access-scope type=cluster >/dev/null 2>"$errf" || return 1
  echo "done: cluster $c (access entry): $new_arn has AmazonEKSClusterAdminPolicy"
}

# Taking the old role off the cluster does not depend on the new role's entry: cutting the
# old sessions off is the point, even if the new role has to be mapped by hand afterwards.
unmap_old_role() {
  local c="$1" mode="$2"
  if awsr eks delete-access-entry --cluster-name "$c" --principal-arn "$old_arn" \
    >/dev/null 2>"$errf"; then
    echo "done: cluster $c (access entry): deleted the access entry for $old_arn; its sessions have lost the cluster"
  elif grep -q "ResourceNotFoundException" "$errf"; then
    echo "done: cluster $c (access entry): $old_arn had no access entry"
    if [ "$mode" = "API_AND_CONFIG_MAP" ]; then
      # The cluster also reads aws-auth, where the old role is likely mapped: not done
      # until someone looks.
      echo "todo: cluster $c: it also reads kube-system/aws-auth; if that maps $old_arn, remove the entry, or the old role's sessions keep the cluster"
      todos+=("$c")
    fi
  else
    return 1
  fi
}

failed=()
todos=()
for i in "${!clusters[@]}"; do
  c="${clusters[$i]}"
  [ "${kinds[$i]}" = "access-entry" ] || continue
  ok=true
  if ! map_new_role "$c"; then
    echo "$me: cluster $c: mapping $new_arn failed: $(errtext)" >&2
    echo "$me: cluster $c: fix that, then map it by hand: deploy/access-entry.sh $c $new_arn${region:+ $region}" >&2
    ok=false
  fi
  if ! unmap_old_role "$c" "${modes[$i]}"; then
    echo "$me: cluster $c: deleting the access entry for $old_arn failed: $(errtext)" >&2
    echo "$me: cluster $c: the old role's sessions STILL have the cluster; fix that, then: aws eks delete-access-entry --cluster-name $c --principal-arn $old_arn${region:+ --region $region}" >&2
    ok=false
  fi
  $ok || failed+=("$c")
done

if [ "${#auth_clusters[@]}" -gt 0 ]; then
  aws_auth_snippet
  for c in "${auth_clusters[@]}"; do
    echo "todo: cluster $c (aws-auth): apply the aws-auth change above with kubectl; until then the old role's sessions keep the cluster and $new_arn has none"
  done
fi
then_line
echo "note: removing the old role's mapping is what cuts its sessions off the cluster; deleting the IAM role alone is not enough"
if [ "${#failed[@]}" -gt 0 ]; then
  die "not done on cluster(s): ${failed[*]} (see above)"
fi
if [ "${#todos[@]}" -gt 0 ]; then
  die "check kube-system/aws-auth on cluster(s) ${todos[*]} (see the todo lines above): the old role may still be mapped there"
fi
