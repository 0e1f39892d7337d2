#!/usr/bin/env python3
"""Test peers for eksop-auth, on 127.0.0.1 only.

`serve` starts an HTTPS fake EKS API server that checks bearer tokens the way the EKS
authenticator does (aws-iam-authenticator `tokenVerifier.Verify`, rules 1-16), then, in
place of asking STS, recomputes the SigV4 signature with the secret it was given for the
access key and the cluster name it expects. It prints one JSON line on stdout once it
listens, and logs every authentication decision to `<state-dir>/apiserver.jsonl`.

With `--sts`, the same process also serves a fake STS over plain HTTP: AssumeRole and
GetCallerIdentity, with the rejections moto cannot do (wrong or reused MFA code, a caller
outside the trust policy, DurationSeconds above MaxSessionDuration, throttling and 5xx).
It checks the SigV4 `Authorization` header of every call against the source keys it was
given, and the sessions it issues are accepted by the API server above. Every STS request
is logged to `<state-dir>/sts.jsonl`.

`moto` starts moto's server in-process on a free port and prints its URL.

`verify` checks one token (read from stdin) with the same rules and prints the identity.

Written independently of eksop-auth's signer (Python's hmac/hashlib, not the Rust crates),
so a token that passes here was not merely checked against itself.
"""

import argparse
import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import ssl
import sys
import secrets
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

MAX_TOKEN_LEN = 4096
PREFIX = "k8s-aws-v1."
ALLOWED_PARAMS = {
    "action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
    "x-amz-expires", "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders",
}
# partition id -> (region prefix test, STS domain, dual-stack domain)
PARTITIONS = [
    ("aws-cn", lambda r: r.startswith("cn-"), "amazonaws.com.cn", "api.amazonwebservices.com.cn"),
    ("aws-us-gov", lambda r: r.startswith("us-gov-"), "amazonaws.com", "api.aws"),
    ("aws-iso-b", lambda r: r.startswith("us-isob-"), "sc2s.sgov.gov", None),
    ("aws-iso-f", lambda r: r.startswith("us-isof-"), "csp.hci.ic.gov", None),
    ("aws-iso", lambda r: r.startswith("us-iso-"), "c2s.ic.gov", None),
    ("aws-iso-e", lambda r: r.startswith("eu-isoe-"), "cloud.adc-e.uk", None),
    ("aws-eusc", lambda r: r.startswith("eusc-"), "amazonaws.eu", "api.amazonwebservices.eu"),
    ("aws", lambda r: True, "amazonaws.com", "api.aws"),
]
REGION_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?$")
B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class Rejected(Exception):
    pass


def partition_of(region):
    for pid, match, domain, dual in PARTITIONS:
        if match(region):
            return pid, domain, dual
    raise AssertionError("unreachable")


def check_host(host, partition, extra_hosts):
    """Rule 6: the STS host must belong to the partition; returns the scope region."""
    if host in extra_hosts:
        return None
    parts = host.split(".")
    if len(parts) < 3:
        raise Rejected(f"could not parse region for pre-signed URL {host}, invalid host format: {host}")
    region = "global" if host == "sts.amazonaws.com" else parts[1]
    if region == "global":
        if partition != "aws":
            raise Rejected(f"global endpoint unsupported in partition {partition}")
        return "us-east-1"
    if not REGION_RE.match(region):
        raise Rejected(f"invalid region identifier format provided: {region}")
    pid, domain, dual = partition_of(region)
    if pid != partition:
        raise Rejected(f"partition {{{partition}}} does not support hostname {host}")
    allowed = {f"sts.{region}.{domain}", f"sts-fips.{region}.{domain}"}
    if dual:
        allowed |= {f"sts.{region}.{dual}", f"sts-fips.{region}.{dual}"}
    if host not in allowed:
        raise Rejected(f'unexpected hostname "{host}" in pre-signed URL')
    return region


def sigv4_hex(secret, date8, region, string_to_sign, service="sts"):
    key = ("AWS4" + secret).encode()
    for part in (date8, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def verify(token, cluster, keys, now, partition="aws", extra_hosts=(), max_skew=300):
    """Returns the identity for a valid token, raises Rejected otherwise."""
    if len(token) > MAX_TOKEN_LEN:
        raise Rejected("token is too large")
    if not token.startswith(PREFIX):
        raise Rejected(f'token is missing expected "{PREFIX}" prefix')
    body = token[len(PREFIX):]
    # Go's base64.RawURLEncoding: URL alphabet, padding rejected.
    if not B64URL_RE.match(body) or len(body) % 4 == 1:
        raise Rejected("illegal base64 data")
    try:
        url = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as e:
        raise Rejected(f"illegal base64 data: {e}")
    parsed = urlsplit(url)
    host = parsed.netloc.lower()
    if parsed.scheme != "https" and not (host in extra_hosts and parsed.scheme == "http"):
        raise Rejected(f'unexpected scheme "{parsed.scheme}" in pre-signed URL')
    scope_region = check_host(host, partition, extra_hosts)
    if parsed.path != "/":
        raise Rejected("unexpected path in pre-signed URL")
    try:
        pairs = parse_qsl(parsed.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise Rejected("malformed query parameter")
    params = {}
    for k, v in pairs:
        lk = k.lower()
        if lk in params:
            raise Rejected(f'duplicate query parameter found: "{k}"')
        if lk not in ALLOWED_PARAMS:
            raise Rejected(f'non-whitelisted query parameter "{k}"')
        params[lk] = v
    if params.get("action") != "GetCallerIdentity":
        raise Rejected("unexpected action parameter in pre-signed URL")
    signed = [h.lower() for h in params.get("x-amz-signedheaders", "").split(";")]
    if "x-k8s-aws-id" not in signed:
        raise Rejected("client did not sign the x-k8s-aws-id header in the pre-signed URL")
    try:
        expires = int(params.get("x-amz-expires", ""))
    except ValueError:
        expires = -1
    if not 0 <= expires <= 900:
        raise Rejected(f"invalid X-Amz-Expires parameter in pre-signed URL: {max(expires, 0)}")
    date = params.get("x-amz-date")
    if date is None:
        raise Rejected("X-Amz-Date parameter must be present in pre-signed URL")
    try:
        signed_at = dt.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError as e:
        raise Rejected(f"error parsing X-Amz-Date parameter {date} into format 20060102T150405Z: {e}")
    if now > signed_at + dt.timedelta(minutes=15):
        raise Rejected(f"X-Amz-Date parameter is expired (15 minute expiration) {date}")

    # What STS checks, done locally with the known secret.
    if signed_at > now + dt.timedelta(seconds=max_skew):
        raise Rejected(f"Signature not yet current: {date} is still later than {now:%Y%m%dT%H%M%SZ}")
    if params.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
        raise Rejected("unsupported X-Amz-Algorithm")
    akid, _, scope = params.get("x-amz-credential", "").partition("/")
    date8, region, service, term = (scope.split("/") + ["", "", "", ""])[:4]
    if date8 != date[:8] or service != "sts" or term != "aws4_request":
        raise Rejected(f"credential scope {scope} is malformed")
    if scope_region is not None and region != scope_region:
        raise Rejected(f"credential should be scoped to a valid region, not '{region}'")
    if akid not in keys:
        raise Rejected(f"The security token included in the request is invalid (unknown access key {akid[-4:]})")
    key = keys[akid]
    if key.get("session_token") is not None and params.get("x-amz-security-token") != key["session_token"]:
        raise Rejected("The security token included in the request is invalid")
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(pairs)
        if k != "X-Amz-Signature"
    )
    canonical = "\n".join([
        "GET", "/", canonical_query,
        f"host:{host}", f"x-k8s-aws-id:{cluster}", "",
        "host;x-k8s-aws-id", EMPTY_SHA256,
    ])
    string_to_sign = "\n".join([
        "AWS4-HMAC-SHA256", date, scope, hashlib.sha256(canonical.encode()).hexdigest(),
    ])
    expected = sigv4_hex(key["secret"], date8, region, string_to_sign)
    if not hmac.compare_digest(expected, params.get("x-amz-signature", "")):
        raise Rejected("SignatureDoesNotMatch: the request signature we calculated does not match")
    return {"arn": key.get("arn", f"arn:aws:iam::123456789012:user/{akid}"), "access_key_id": akid}


def parse_keys(specs):
    keys = {}
    for spec in specs or []:
        parts = spec.split("=", 2)
        if len(parts) < 2:
            raise SystemExit(f"--key wants AKID=SECRET[=ARN], got {spec!r}")
        keys[parts[0]] = {"secret": parts[1]}
        if len(parts) > 2:
            keys[parts[0]]["arn"] = parts[2]
    return keys


def run_proxy(opts):
    """A plain forward HTTP proxy on 127.0.0.1 that logs what passes through it."""
    import http.client
    os.makedirs(opts.state_dir, exist_ok=True)
    log_path = os.path.join(opts.state_dir, "proxy.jsonl")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def forward(self):
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock, open(log_path, "a") as f:
                f.write(json.dumps({"method": self.command, "host": url.netloc}) + "\n")
            conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
            conn.request(self.command, url.path + (f"?{url.query}" if url.query else ""), body, headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = forward

    proxy = ApiServer(("127.0.0.1", 0), Handler)
    print(json.dumps({"proxy": f"http://127.0.0.1:{proxy.server_address[1]}"}), flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    proxy.serve_forever()


def run_moto():
    import logging
    from moto.server import ThreadedMotoServer
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(json.dumps({"url": f"http://{host}:{port}"}), flush=True)
    sys.stdin.read()  # until the harness closes our stdin
    os._exit(0)


def make_cert(state_dir):
    """A CA and a server certificate it signs for 127.0.0.1/localhost, made with
    `cryptography`, as an EKS cluster has (a CA used as the server's own certificate is
    refused by strict verifiers such as rustls/webpki). Returns the server's certificate
    and key paths, and the CA (PEM) and its path."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    import ipaddress

    now = dt.datetime.now(dt.timezone.utc)

    def builder(subject, issuer, public_key):
        return (x509.CertificateBuilder()
                .subject_name(subject).issuer_name(issuer).public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=2)))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eksop-auth fake cluster CA")])
    ca = (builder(ca_name, ca_name, ca_key.public_key())
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eksop-auth fake apiserver")])
    cert = (builder(name, ca_name, key.public_key())
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .sign(ca_key, hashes.SHA256()))
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    paths = {n: os.path.join(state_dir, n) for n in ("apiserver.crt", "apiserver.key", "ca.crt")}
    with open(paths["apiserver.crt"], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["apiserver.key"], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(paths["ca.crt"], "wb") as f:
        f.write(ca_pem)
    return paths["apiserver.crt"], paths["apiserver.key"], ca_pem, paths["ca.crt"]


# arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION
ASSUMED_ROLE = re.compile(r"arn:[\w-]+:sts::(\d{12}):assumed-role/([\w+=,.@-]+)/([\w+=,.@-]+)")


def session_name_of(arn):
    """The role session name of an assumed-role ARN, else None."""
    m = ASSUMED_ROLE.fullmatch(arn)
    return m.group(3) if m else None


def map_user(arn, map_role):
    """The Kubernetes user name aws-iam-authenticator gives `arn`: an assumed role in mapRoles
    gets its template with {{SessionName}} filled in, an unmapped role its ARN (an access
    entry's default); a role mapped to `-` nobody (None)."""
    mapping = {"eks-operator": "eks-operator:{{SessionName}}"}
    for spec in map_role or []:
        role, _, template = spec.partition("=")
        mapping[role] = template
    m = ASSUMED_ROLE.fullmatch(arn)
    if not m:
        return arn
    template = mapping.get(m.group(2))
    if template is None:
        return arn
    if template == "-":
        return None
    return (template.replace("{{SessionName}}", m.group(3))
            .replace("{{AccountID}}", m.group(1)))


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_handler(opts, keys, log_path, lock):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, code, doc):
            body = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def authenticate(self, method):
            """The Kubernetes user name of the bearer token (aws-iam-authenticator's mapping), or
            None after answering 401."""
            auth = self.headers.get("Authorization", "")
            token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
            now = dt.datetime.now(dt.timezone.utc)
            entry = {"path": self.path, "method": method}
            try:
                # `--cluster a,b`: one server for several clusters; the token is signed
                # for exactly one of them (x-k8s-aws-id is part of the signature).
                names = opts.cluster.split(",")
                for i, name in enumerate(names):
                    try:
                        identity = verify(token, name, keys, now, opts.partition, opts.sts_host)
                        entry["cluster"] = name
                        break
                    except Rejected:
                        if i == len(names) - 1:
                            raise
                username = map_user(identity["arn"], opts.map_role)
                entry.update({"ok": username is not None, "arn": identity["arn"], "username": username})
                if username is None:
                    entry["reason"] = "ARN is not mapped"
            except Rejected as e:
                identity, username = None, None
                entry.update({"ok": False, "reason": str(e)})
            with lock, open(log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")
            if username is None:
                self.reply(401, {
                    "kind": "Status", "apiVersion": "v1", "status": "Failure",
                    "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
                return None, None
            return identity, username

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            identity, username = self.authenticate("POST")
            if username is None:
                return None
            # `kubectl auth whoami`: the user the token maps to, as the API server sees it.
            for version in ("v1", "v1beta1", "v1alpha1"):
                if self.path.startswith(f"/apis/authentication.k8s.io/{version}/selfsubjectreviews"):
                    return self.reply(201, {
                        "kind": "SelfSubjectReview", "apiVersion": f"authentication.k8s.io/{version}",
                        "metadata": {"creationTimestamp": None},
                        "status": {"userInfo": {
                            "username": username, "uid": "aws-iam-authenticator:" + ACCOUNT,
                            "groups": ["system:masters", "system:authenticated"],
                            "extra": {"arn": [identity["arn"]],
                                      "sessionName": [session_name_of(identity["arn"]) or ""]}}}})
            return self.reply(404, {"kind": "Status", "code": 404, "message": "not found"})

        def do_GET(self):
            identity, username = self.authenticate("GET")
            if username is None:
                return None
            if self.path.startswith("/version"):
                return self.reply(200, {
                    "major": "1", "minor": "32", "gitVersion": "v1.32.0-eksop-fake",
                    # Every field of a real answer: the Python client refuses one without them.
                    "gitCommit": "0" * 40, "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z",
                    "goVersion": "go1.23.0", "compiler": "gc",
                    "platform": "linux/amd64", "user": identity["arn"], "username": username})
            # The CoreV1 call the Kubernetes clients make (list namespaces), with their names.
            if urlsplit(self.path).path == "/api/v1/namespaces":
                return self.reply(200, {
                    "kind": "NamespaceList", "apiVersion": "v1",
                    "metadata": {"resourceVersion": "1"},
                    "items": [{"kind": "Namespace", "apiVersion": "v1",
                               "metadata": {"name": name, "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
                                            "resourceVersion": "1",
                                            "creationTimestamp": "2025-01-01T00:00:00Z"},
                               "spec": {"finalizers": ["kubernetes"]},
                               "status": {"phase": "Active"}}
                              for name in ("default", "eksop-fake-team")]})
            # Just enough discovery for `kubectl create --dry-run=client` to map a ConfigMap and
            # `kubectl get namespaces` to find them.
            if self.path.startswith("/api/v1"):
                return self.reply(200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                    {"name": "configmaps", "singularName": "configmap", "namespaced": True,
                     "kind": "ConfigMap", "verbs": ["create", "get", "list"], "shortNames": ["cm"]},
                    {"name": "namespaces", "singularName": "namespace", "namespaced": False,
                     "kind": "Namespace", "verbs": ["get", "list"], "shortNames": ["ns"]}]})
            if self.path.startswith("/apis"):
                return self.reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
            if self.path.startswith("/api"):
                return self.reply(200, {"kind": "APIVersions", "versions": ["v1"],
                                        "serverAddressByClientCIDRs": []})
            return self.reply(404, {"kind": "Status", "code": 404, "message": "not found"})

    return Handler


ACCOUNT = "123456789012"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


class StsState:
    """What the fake STS knows: source keys, issued sessions, used codes, scripted faults."""

    def __init__(self, opts, keys, log_path):
        self.opts = opts
        self.keys = keys  # shared with the API server: issued sessions become valid there
        self.log_path = log_path
        self.lock = threading.Lock()
        self.used_codes = set()
        self.faults = list(opts.fault or [])
        self.hang = opts.hang

    def log(self, entry):
        with self.lock, open(self.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")


def verify_header_sigv4(method, path, query, headers, body, keys):
    """Checks an `Authorization: AWS4-HMAC-SHA256 …` header; returns the access key id."""
    auth = headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        raise Rejected("MissingAuthenticationToken")
    fields = dict(part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    akid, _, scope = fields["Credential"].partition("/")
    if akid not in keys:
        raise Rejected("InvalidClientTokenId")
    key = keys[akid]
    if key.get("session_token") is not None and headers.get("X-Amz-Security-Token") != key["session_token"]:
        raise Rejected("InvalidClientTokenId")
    date8, region, service, _ = scope.split("/")
    signed = fields["SignedHeaders"].split(";")
    canonical_headers = "".join(f"{h}:{' '.join(headers.get(h, '').split())}\n" for h in signed)
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(parse_qsl(query, keep_blank_values=True)))
    payload = headers.get("X-Amz-Content-Sha256") or hashlib.sha256(body).hexdigest()
    canonical = "\n".join([method, path or "/", canonical_query, canonical_headers,
                           fields["SignedHeaders"], payload])
    amz_date = headers.get("X-Amz-Date", "")
    sts_str = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    if not hmac.compare_digest(sigv4_hex(key["secret"], date8, region, sts_str, service), fields["Signature"]):
        raise Rejected("SignatureDoesNotMatch")
    return akid


def sts_error(code, message, status):
    return status, (
        f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")


def sts_handle(state, akid, params):
    """Returns (HTTP status, XML body) for one STS call."""
    action = params.get("Action")
    caller = state.keys[akid]
    if action == "GetCallerIdentity":
        arn = caller.get("arn", f"arn:aws:iam::{ACCOUNT}:user/{akid}")
        return 200, (
            f'<GetCallerIdentityResponse xmlns="{STS_NS}"><GetCallerIdentityResult>'
            f"<Arn>{arn}</Arn><UserId>{akid}</UserId><Account>{ACCOUNT}</Account>"
            f"</GetCallerIdentityResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId>"
            f"</ResponseMetadata></GetCallerIdentityResponse>")
    if action != "AssumeRole":
        return sts_error("InvalidAction", f"Could not find operation {action}", 400)
    role_arn = params.get("RoleArn", "")
    if state.opts.deny_assume:
        return sts_error("AccessDenied", (
            f"User: {caller.get('arn', 'arn:aws:iam::' + ACCOUNT + ':user/C')} is not authorized "
            f"to perform: sts:AssumeRole on resource: {role_arn}"), 403)
    serial, code = params.get("SerialNumber"), params.get("TokenCode")
    if not serial or not code:
        return sts_error("AccessDenied", "MultiFactorAuthentication required by the trust policy", 403)
    valid = state.opts.mfa_code or []
    with state.lock:
        bad = (valid and code not in valid) or not re.fullmatch(r"\d{6}", code) or code in state.used_codes
        if not bad:
            state.used_codes.add(code)
    if bad:
        return sts_error("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code. ", 403)
    # The shipped trust policy (deploy/eks-operator-role.yaml): sts:RoleSessionName and, when
    # set, sts:SourceIdentity must equal ${aws:username}, which only IAM users have.
    caller_arn = caller.get("arn", f"arn:aws:iam::{ACCOUNT}:user/{akid}")
    username = caller_arn.split(":user/", 1)[1].rsplit("/", 1)[-1] if ":user/" in caller_arn else None
    session_name = params.get("RoleSessionName", "")
    source_identity = params.get("SourceIdentity")
    if state.opts.trust_session_name and session_name != username:
        return sts_error("AccessDenied", (
            f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"), 403)
    if source_identity is not None and (state.opts.no_set_source_identity or source_identity != username):
        return sts_error("AccessDenied", (
            f"User: {caller_arn} is not authorized to perform: sts:SetSourceIdentity on resource: {role_arn}"), 403)
    duration = int(params.get("DurationSeconds", "3600"))
    if duration > state.opts.max_session_duration:
        return sts_error("ValidationError",
                         "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", 400)
    new_id = "ASIA" + secrets.token_hex(8).upper()
    secret = secrets.token_urlsafe(30)
    token = "FwoGZXIvYXdzE" + secrets.token_urlsafe(300)
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=duration)
    assumed = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/{session_name}"
    with state.lock:
        state.keys[new_id] = {"secret": secret, "session_token": token, "arn": assumed}
    return 200, (
        f'<AssumeRoleResponse xmlns="{STS_NS}"><AssumeRoleResult><Credentials>'
        f"<AccessKeyId>{new_id}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>"
        f"<SessionToken>{token}</SessionToken><Expiration>{expires:%Y-%m-%dT%H:%M:%SZ}</Expiration>"
        f"</Credentials><AssumedRoleUser><AssumedRoleId>AROAFAKE:{session_name}</AssumedRoleId>"
        f"<Arn>{assumed}</Arn></AssumedRoleUser>"
        + (f"<SourceIdentity>{source_identity}</SourceIdentity>" if source_identity else "")
        + f"</AssumeRoleResult><ResponseMetadata>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></AssumeRoleResponse>")


# Faults that replace a computed answer (consumed in order like the others).
ANSWER_FAULTS = ("truncate", "empty-token", "backdate", "far-date", "html", "garbage", "huge")


def make_sts_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply_sts_get(self, url):
            """A presigned GetCallerIdentity GET, checked as STS would (what `doctor` sends)."""
            host = self.headers.get("Host", "")
            token = PREFIX + base64.urlsafe_b64encode(f"http://{host}{self.path}".encode()).decode().rstrip("=")
            now = dt.datetime.now(dt.timezone.utc)
            cluster = self.headers.get("x-k8s-aws-id", "")
            try:
                identity = verify(token, cluster, state.keys, now, "aws", [host])
                status, xml = 200, (
                    f'<GetCallerIdentityResponse xmlns="{STS_NS}"><GetCallerIdentityResult>'
                    f"<Arn>{identity['arn']}</Arn><Account>{ACCOUNT}</Account></GetCallerIdentityResult>"
                    f"</GetCallerIdentityResponse>")
            except Rejected as e:
                status, xml = sts_error("SignatureDoesNotMatch", str(e), 403)
            state.log({"action": "GetCallerIdentity(GET)", "status": status})
            self.send(status, xml, "text/xml")

        def send(self, status, text, content_type, extra_headers=()):
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in extra_headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            """EKS DescribeCluster (GET /clusters/NAME): the API server next door."""
            url = urlsplit(self.path)
            if not url.path.startswith("/clusters/"):
                if "Action=GetCallerIdentity" in url.query:
                    return self.reply_sts_get(url)
                return self.send(*sts_error("MissingAction", "no Action", 400), "text/xml")
            entry = {"action": "DescribeCluster", "path": url.path}
            try:
                entry["access_key_id"] = verify_header_sigv4("GET", url.path, url.query, self.headers, b"", state.keys)
                name = url.path.rsplit("/", 1)[-1]
                if not url.path.startswith("/clusters/") or name != state.opts.cluster:
                    status, doc = 404, {"message": f"No cluster found for name: {name}."}
                else:
                    status, doc = 200, {"cluster": {
                        "name": name, "status": "ACTIVE", "version": "1.32",
                        "arn": f"arn:aws:eks:{state.opts.region}:{ACCOUNT}:cluster/{name}",
                        "endpoint": state.apiserver_url,
                        "certificateAuthority": {"data": state.ca_data}}}
            except Rejected as e:
                status, doc = 403, {"message": str(e)}
                entry["reason"] = str(e)
            entry["status"] = status
            state.log(entry)
            not_found = [("x-amzn-ErrorType", "ResourceNotFoundException")] if status == 404 else []
            self.send(status, json.dumps(doc), "application/json", not_found)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            params = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
            entry = {"action": params.get("Action"), "params": {
                k: v for k, v in params.items() if k not in ("Action", "Version")}}
            # Scripted faults answer AssumeRole (GetCallerIdentity before it passes).
            with state.lock:
                fault = state.faults.pop(0) if state.faults and params.get("Action") == "AssumeRole" else None
            if state.hang:
                threading.Event().wait(state.hang)
            if fault == "500":
                status, xml = sts_error("InternalFailure", "injected fault", 500)
            elif fault == "throttle":
                status, xml = sts_error("Throttling", "Rate exceeded", 400)
            else:
                try:
                    url = urlsplit(self.path)
                    akid = verify_header_sigv4("POST", url.path, url.query, self.headers, body, state.keys)
                    entry["access_key_id"] = akid
                    status, xml = sts_handle(state, akid, params)
                except Rejected as e:
                    status, xml = sts_error(str(e), f"request signature rejected: {e}", 403)
            entry["status"] = status
            if fault in ANSWER_FAULTS:
                entry["fault"] = fault
                state.log(entry)
                return self.send_mangled(fault, status, xml)
            state.log(entry)
            self.send(status, xml, "text/xml")

        def send_mangled(self, fault, status, xml):
            """What a cutting proxy or a broken STS sends instead of the real answer."""
            rid = [("x-amzn-RequestId", "fault-" + fault)]
            if fault == "truncate":
                return self.send(status, xml[:500], "text/xml", rid)
            if fault == "empty-token":
                return self.send(status, re.sub(r"<SessionToken>[^<]*</SessionToken>",
                                                "<SessionToken></SessionToken>", xml), "text/xml", rid)
            if fault in ("backdate", "far-date"):
                when = ("2001-01-01T00:00:00Z" if fault == "backdate" else "2200-01-01T00:00:00Z")
                return self.send(status, re.sub(r"<Expiration>[^<]*</Expiration>",
                                                f"<Expiration>{when}</Expiration>", xml), "text/xml", rid)
            if fault == "html":
                return self.send(400, "<html><body><h1>400 Bad Request</h1></body></html>",
                                 "text/html", rid)
            if fault == "garbage":
                return self.send(200, "\x00\x01 this is not an answer", "application/octet-stream", rid)
            if fault == "huge":
                # 1 GiB announced and streamed until the client stops reading.
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                for name, value in rid:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(1 << 30))
                self.end_headers()
                chunk = b"<Padding>" + b"x" * (1 << 20) + b"</Padding>"
                try:
                    self.wfile.write(xml.encode()[:200])
                    sent = 200
                    while sent < (1 << 30):
                        self.wfile.write(chunk)
                        sent += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True
                return None
            raise AssertionError(fault)

    return Handler


def serve(opts):
    os.makedirs(opts.state_dir, exist_ok=True)
    keys = parse_keys(opts.key)
    ready = {}
    if opts.sts:
        sts_state = StsState(opts, keys, os.path.join(opts.state_dir, "sts.jsonl"))
        sts = ApiServer(("127.0.0.1", 0), make_sts_handler(sts_state))
        sts_host = f"127.0.0.1:{sts.server_address[1]}"
        opts.sts_host.append(sts_host)
        ready["sts"] = f"http://{sts_host}"
        threading.Thread(target=sts.serve_forever, daemon=True).start()
    cert_path, key_path, cert_pem, ca_path = make_cert(opts.state_dir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    httpd = ApiServer(("127.0.0.1", 0), make_handler(
        opts, keys, os.path.join(opts.state_dir, "apiserver.jsonl"), threading.Lock()))
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    port = httpd.server_address[1]
    if opts.sts:
        sts_state.apiserver_url = f"https://127.0.0.1:{port}"
        sts_state.ca_data = base64.b64encode(cert_pem).decode()
    ready.update({
        "apiserver": f"https://127.0.0.1:{port}",
        "ca_data": base64.b64encode(cert_pem).decode(),
        "ca_file": ca_path,
    })
    print(json.dumps(ready), flush=True)
    # Exit with the parent: the harness holds our stdin open and closes it on drop.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    httpd.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("moto")
    sub.add_parser("proxy").add_argument("--state-dir", required=True)
    for name in ("serve", "verify"):
        p = sub.add_parser(name)
        p.add_argument("--cluster", required=True)
        p.add_argument("--key", action="append", help="AKID=SECRET[=ARN], repeatable")
        p.add_argument("--partition", default="aws")
        p.add_argument("--sts-host", action="append", default=[],
                       help="an extra STS host:port allowed (an emulator on loopback)")
        if name == "serve":
            p.add_argument("--state-dir", required=True)
            p.add_argument("--sts", action="store_true", help="also serve the fake STS")
            p.add_argument("--mfa-code", action="append", help="the only codes accepted (default: any 6 digits, once)")
            p.add_argument("--deny-assume", action="store_true", help="AccessDenied: caller not in the trust policy")
            p.add_argument("--max-session-duration", type=int, default=43200)
            p.add_argument("--no-trust-session-name", dest="trust_session_name", action="store_false",
                           help="accept any RoleSessionName (default: only the caller's IAM user name)")
            p.add_argument("--no-set-source-identity", action="store_true",
                           help="a role whose trust policy does not allow sts:SetSourceIdentity")
            p.add_argument("--map-role", action="append", default=[],
                           help="ROLE=USERNAME-TEMPLATE: the API server's aws-auth mapRoles "
                                "(default eks-operator=eks-operator:{{SessionName}}); "
                                "ROLE=- maps it to nobody (401)")
            p.add_argument("--fault", action="append", choices=["500", "throttle", *ANSWER_FAULTS],
                           help="answer the next STS call with this fault (repeatable, in order)")
            p.add_argument("--hang", type=float, default=0, help="delay every STS answer by this many seconds")
            p.add_argument("--region", default="us-east-1", help="the region in the cluster ARN DescribeCluster returns")
        else:
            p.add_argument("--now", help="ISO time to verify at (default: now)")
    opts = ap.parse_args()
    if opts.cmd == "moto":
        return run_moto()
    if opts.cmd == "proxy":
        return run_proxy(opts)
    if opts.cmd == "serve":
        return serve(opts)
    now = dt.datetime.fromisoformat(opts.now) if opts.now else dt.datetime.now(dt.timezone.utc)
    try:
        print(json.dumps(verify(sys.stdin.read().strip(), opts.cluster, parse_keys(opts.key), now,
                                opts.partition, opts.sts_host)))
    except Rejected as e:
        print(f"rejected: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
