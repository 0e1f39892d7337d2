#!/usr/bin/env python3
"""Test peers for eksop-auth, on 127.0.0.1 only.

`serve` starts an HTTPS fake EKS API server that checks bearer tokens the way the EKS
authenticator does (aws-iam-authenticator `tokenVerifier.Verify`, rules 1-16), then, in
place of asking STS, recomputes the SigV4 signature with the secret it was given for the
access key and the cluster name it expects. It prints one JSON line on stdout once it
listens, and logs every authentication decision to `<state-dir>/apiserver.jsonl`.

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
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

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


def sigv4_hex(secret, date8, region, string_to_sign):
    key = ("AWS4" + secret).encode()
    for part in (date8, region, "sts", "aws4_request"):
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
        keys[parts[0]] = {"secret": parts[1], "arn": parts[2] if len(parts) > 2 else None}
        if keys[parts[0]]["arn"] is None:
            del keys[parts[0]]["arn"]
    return keys


def make_cert(state_dir):
    """A self-signed certificate for 127.0.0.1/localhost, made with `cryptography`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eksop-auth fake apiserver")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path = os.path.join(state_dir, "apiserver.crt")
    key_path = os.path.join(state_dir, "apiserver.key")
    with open(cert_path, "wb") as f:
        f.write(cert_pem)
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path, cert_pem


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

        def do_GET(self):
            auth = self.headers.get("Authorization", "")
            token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
            now = dt.datetime.now(dt.timezone.utc)
            try:
                identity = verify(token, opts.cluster, keys, now, opts.partition, opts.sts_host)
                entry = {"path": self.path, "ok": True, "arn": identity["arn"]}
            except Rejected as e:
                identity, entry = None, {"path": self.path, "ok": False, "reason": str(e)}
            with lock, open(log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")
            if identity is None:
                return self.reply(401, {
                    "kind": "Status", "apiVersion": "v1", "status": "Failure",
                    "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
            if self.path.startswith("/version"):
                return self.reply(200, {
                    "major": "1", "minor": "32", "gitVersion": "v1.32.0-eksop-fake",
                    "platform": "linux/amd64", "user": identity["arn"]})
            if self.path.startswith("/api"):
                return self.reply(200, {"kind": "APIVersions", "versions": ["v1"],
                                        "serverAddressByClientCIDRs": []})
            return self.reply(404, {"kind": "Status", "code": 404, "message": "not found"})

    return Handler


def serve(opts):
    os.makedirs(opts.state_dir, exist_ok=True)
    keys = parse_keys(opts.key)
    cert_path, key_path, cert_pem = make_cert(opts.state_dir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    httpd = ApiServer(("127.0.0.1", 0), make_handler(
        opts, keys, os.path.join(opts.state_dir, "apiserver.jsonl"), threading.Lock()))
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    port = httpd.server_address[1]
    print(json.dumps({
        "apiserver": f"https://127.0.0.1:{port}",
        "ca_data": base64.b64encode(cert_pem).decode(),
        "ca_file": cert_path,
    }), flush=True)
    # Exit with the parent: the harness holds our stdin open and closes it on drop.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    httpd.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("serve", "verify"):
        p = sub.add_parser(name)
        p.add_argument("--cluster", required=True)
        p.add_argument("--key", action="append", help="AKID=SECRET[=ARN], repeatable")
        p.add_argument("--partition", default="aws")
        p.add_argument("--sts-host", action="append", default=[],
                       help="an extra STS host:port allowed (an emulator on loopback)")
        if name == "serve":
            p.add_argument("--state-dir", required=True)
        else:
            p.add_argument("--now", help="ISO time to verify at (default: now)")
    opts = ap.parse_args()
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
