#!/usr/bin/env python3
"""A stand-in for the `aws` CLI for deploy/rotate-role.sh's real (not --dry-run) path, which
moto cannot carry out (it cannot rename a role in a stack update and has no EKS access
entries). It logs every call (one JSON argv per line) to $FAKE_AWS_LOG and answers from a
small state file beside it. Clusters: `api` (API), `mixed` (API_AND_CONFIG_MAP, where the
old role has no access entry) and `old` (CONFIG_MAP)."""
import json
import os
import sys

args = sys.argv[1:]
log = os.environ["FAKE_AWS_LOG"]
state_path = log + ".state"
with open(log, "a") as f:
    f.write(json.dumps(args) + "\n")
state = {"role": "eks-operator"}
if os.path.exists(state_path):
    state = json.load(open(state_path))


def opt(name):
    return args[args.index(name) + 1] if name in args else ""


def arn(role):
    return f"arn:aws:iam::123456789012:role/{role}"


service, op = args[0], args[1]
query = opt("--query")
if (service, op) == ("cloudformation", "describe-stacks"):
    if "ParameterKey!='RoleName'" in query:
        print("AdminUserNames\tMaxMfaAgeSeconds\tSessionNameIsUserName")
    elif "StackStatus," in query:
        print(f"UPDATE_COMPLETE\t{state['role']}\t{arn(state['role'])}")
    elif "RoleArn" in query:
        print(arn(state["role"]))
    else:
        print("UPDATE_COMPLETE")
elif (service, op) == ("cloudformation", "update-stack"):
    new = [p for p in args if p.startswith("ParameterKey=RoleName,")][0].split("=")[-1]
    state["role"] = new
    json.dump(state, open(state_path, "w"))
    print(json.dumps({"StackId": "x"}))
elif (service, op) == ("cloudformation", "wait"):
    pass
elif (service, op) == ("eks", "describe-cluster"):
    modes = {"api": "API", "mixed": "API_AND_CONFIG_MAP", "old": "CONFIG_MAP"}
    name = opt("--name")
    if name not in modes:
        sys.stderr.write(f"An error occurred (ResourceNotFoundException): No cluster found for name: {name}.\n")
        sys.exit(254)
    print(modes[name])
elif (service, op) == ("eks", "describe-access-entry"):
    sys.stderr.write("An error occurred (ResourceNotFoundException): The specified access entry resource is not found.\n")
    sys.exit(254)
elif (service, op) in (("eks", "create-access-entry"), ("eks", "associate-access-policy")):
    print("{}")
elif (service, op) == ("eks", "delete-access-entry"):
    if opt("--cluster-name") == "mixed":
        sys.stderr.write("An error occurred (ResourceNotFoundException): The specified access entry resource is not found.\n")
        sys.exit(254)
else:
    sys.stderr.write(f"fake aws: unexpected call {args}\n")
    sys.exit(99)
