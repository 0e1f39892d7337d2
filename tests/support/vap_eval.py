"""Evaluates the CEL of deploy/deny-session-writes.yaml as the API server would, with
cel-python: for each user name given, whether a write by it is allowed, and the message.

    python3 vap_eval.py POLICY.yaml '["blocked", ...]' '["user name", ...]'
"""
import json, sys, yaml, celpy
docs = list(yaml.safe_load_all(open(sys.argv[1])))
policy = docs[0]
blocked = json.loads(sys.argv[2])
env = celpy.Environment()
def ev(expr, act):
    return env.program(env.compile(expr)).evaluate(act)
out = {}
for user in json.loads(sys.argv[3]):
    request = celpy.json_to_cel({"userInfo": {"username": user}, "operation": "CREATE"})
    variables = {}
    for v in policy["spec"]["variables"]:
        expr = v["expression"] if v["name"] != "blocked" else json.dumps(blocked).replace('"', "'")
        variables[v["name"]] = ev(expr, {"request": request, "variables": celpy.json_to_cel(variables)})
    act = {"request": request, "variables": celpy.json_to_cel({k: (list(map(str, x)) if isinstance(x, list) else str(x)) for k, x in variables.items()})}
    val = policy["spec"]["validations"][0]
    ok = bool(ev(val["expression"], act))
    msg = None if ok else str(ev(val["messageExpression"], act))
    out[user] = {"allowed": ok, "message": msg}
print(json.dumps(out))
