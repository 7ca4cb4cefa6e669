"""Fixtures for the integration tests: build-generated protobuf modules, a
real amaters-server process on ephemeral loopback ports, and a small client.

Readiness is awaited by polling /readyz (the server's own readiness probe),
never by sleeping a fixed time.
"""
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import zlib

import pytest

GEN = os.environ.get("AMATERS_PY_GEN")
if GEN:
    sys.path.insert(0, GEN)

import grpc  # noqa: E402

import aql_pb2  # noqa: E402
import errors_pb2  # noqa: E402
import query_pb2  # noqa: E402
import types_pb2  # noqa: E402

SERVER_BIN = os.environ.get("AMATERS_SERVER_BIN", "amaters-server")
SERVICE = "/amaters.aql.AqlService/"
START_TIMEOUT = 20.0


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, method="GET", timeout=5.0):
    """Returns (status, body bytes, headers) of an HTTP request."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


class Server:
    """One amaters-server process with its own data dir and ports."""

    def __init__(self, tmpdir, config_text=None, extra_args=(), env=None):
        self.dir = tmpdir
        self.data_dir = os.path.join(tmpdir, "data")
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.addr = f"127.0.0.1:{self.grpc_port}"
        self.log_path = os.path.join(tmpdir, "server.log")
        self.config_path = None
        if config_text is not None:
            self.config_path = os.path.join(tmpdir, "server.toml")
            with open(self.config_path, "w") as f:
                f.write(config_text)
        self.extra_args = list(extra_args)
        self.env = dict(os.environ)
        self.env["AMATERS_METRICS__BIND_ADDRESS"] = \
            f"127.0.0.1:{self.http_port}"
        if env:
            self.env.update(env)
        self.proc = None
        self.channel = None

    def args(self, command, *more):
        a = [SERVER_BIN]
        if self.config_path:
            a += ["--config", self.config_path]
        a += ["--bind", self.addr, "--data-dir", self.data_dir]
        return a + [command] + list(more)

    def start(self, wait=True):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.args("start") + self.extra_args, stdout=self.logf,
            stderr=subprocess.STDOUT, env=self.env)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}:\n"
                    + self.log())
            try:
                st, _, _ = http_get(self.http_port, "/readyz", timeout=1.0)
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)  # poll interval of the readiness probe
        raise RuntimeError("server did not become ready:\n" + self.log())

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def get_channel(self):
        if self.channel is None:
            self.channel = grpc.insecure_channel(
                self.addr,
                options=[("grpc.max_receive_message_length", 256 << 20),
                         ("grpc.max_send_message_length", 256 << 20)])
        return self.channel

    def client(self):
        return Client(self.get_channel())

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()
        return self.proc.returncode if self.proc else None


def blob(data, checksum=None, created_at=None, version=None,
         compression=0, with_metadata=True):
    """A CipherBlob with correct metadata (CRC-32 of data) unless told."""
    b = types_pb2.CipherBlob(data=data)
    if with_metadata:
        b.metadata.size = len(data)
        b.metadata.compression = compression
        b.metadata.checksum = (zlib.crc32(data) & 0xFFFFFFFF
                               if checksum is None else checksum)
        b.metadata.created_at = (int(time.time()) if created_at is None
                                 else created_at)
        if version is not None:
            b.metadata.version = version
    return b


def q_get(coll, key):
    return query_pb2.Query(get=query_pb2.GetQuery(
        collection=coll, key=types_pb2.Key(data=key)))


def q_set(coll, key, value):
    return query_pb2.Query(set=query_pb2.SetQuery(
        collection=coll, key=types_pb2.Key(data=key), value=value))


def q_delete(coll, key):
    return query_pb2.Query(delete=query_pb2.DeleteQuery(
        collection=coll, key=types_pb2.Key(data=key)))


def q_range(coll, start, end=None, limit=None):
    r = query_pb2.RangeQuery(collection=coll,
                             start=types_pb2.Key(data=start))
    if end is not None:
        r.end.data = end
    if limit is not None:
        r.limit = limit
    return query_pb2.Query(range=r)


VERSION = types_pb2.Version(major=0, minor=2, patch=0)


class Client:
    """Thin typed client over the generic gRPC channel API."""

    def __init__(self, channel):
        self.ch = channel
        self._query = channel.unary_unary(
            SERVICE + "ExecuteQuery",
            request_serializer=aql_pb2.QueryRequest.SerializeToString,
            response_deserializer=aql_pb2.QueryResponse.FromString)
        self._batch = channel.unary_unary(
            SERVICE + "ExecuteBatch",
            request_serializer=aql_pb2.BatchRequest.SerializeToString,
            response_deserializer=aql_pb2.BatchResponse.FromString)
        self._stream = channel.unary_stream(
            SERVICE + "ExecuteStream",
            request_serializer=aql_pb2.QueryRequest.SerializeToString,
            response_deserializer=aql_pb2.StreamResponse.FromString)
        self._interactive = channel.stream_stream(
            SERVICE + "ExecuteInteractive",
            request_serializer=aql_pb2.QueryRequest.SerializeToString,
            response_deserializer=aql_pb2.QueryResponse.FromString)
        self._health = channel.unary_unary(
            SERVICE + "HealthCheck",
            request_serializer=aql_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=aql_pb2.HealthCheckResponse.FromString)
        self._info = channel.unary_unary(
            SERVICE + "GetServerInfo",
            request_serializer=aql_pb2.ServerInfoRequest.SerializeToString,
            response_deserializer=aql_pb2.ServerInfoResponse.FromString)

    def request(self, query, request_id=None, timeout_ms=30000):
        return aql_pb2.QueryRequest(
            query=query, request_id=request_id or str(uuid.uuid4()),
            timeout_ms=timeout_ms, version=VERSION)

    def query(self, query, timeout=30, **kw):
        return self._query(self.request(query, **kw), timeout=timeout)

    def raw(self, method, payload, timeout=10):
        """Sends raw bytes to a method; returns the raw response bytes."""
        call = self.ch.unary_unary(SERVICE + method,
                                   request_serializer=None,
                                   response_deserializer=None)
        return call(payload, timeout=timeout)

    def batch(self, queries, isolation=0, request_id=None, timeout=60):
        req = aql_pb2.BatchRequest(
            queries=queries, request_id=request_id or str(uuid.uuid4()),
            timeout_ms=60000, isolation_level=isolation, version=VERSION)
        return self._batch(req, timeout=timeout)

    def stream(self, query, timeout=60, **kw):
        return list(self._stream(self.request(query, **kw), timeout=timeout))

    def interactive(self, queries, timeout=60):
        reqs = (self.request(q) for q in queries)
        return list(self._interactive(reqs, timeout=timeout))

    def health(self, service=None):
        req = aql_pb2.HealthCheckRequest()
        if service is not None:
            req.service = service
        return self._health(req, timeout=10)

    def info(self):
        return self._info(aql_pb2.ServerInfoRequest(), timeout=10)

    # conveniences
    def set(self, coll, key, data, **kw):
        return self.query(q_set(coll, key, blob(data, **kw)))

    def get(self, coll, key):
        return self.query(q_get(coll, key))

    def delete(self, coll, key):
        return self.query(q_delete(coll, key))


@pytest.fixture
def tmpdir_path():
    d = tempfile.mkdtemp(prefix="amaters-it-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def make_server(tmpdir_path):
    """Factory: make_server(config_text=None, extra_args=(), env=None)."""
    servers = []

    def make(config_text=None, extra_args=(), env=None, start=True):
        sub = tempfile.mkdtemp(dir=tmpdir_path)
        s = Server(sub, config_text, extra_args, env)
        servers.append(s)
        if start:
            s.start()
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def client(server):
    return server.client()


# ---------------------------------------------------------------------------
# Shared helpers for the test modules (added after the original fixtures).
# ---------------------------------------------------------------------------
import json  # noqa: E402

E = errors_pb2
CLIENT_ERROR = errors_pb2.CATEGORY_CLIENT_ERROR


def unique(prefix="c"):
    """A collection or key prefix no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def crc(data):
    return zlib.crc32(data) & 0xFFFFFFFF


@pytest.fixture(scope="module")
def module_server():
    """One server shared by a whole test module (tests use their own
    collections so they do not see each other's keys)."""
    d = tempfile.mkdtemp(prefix="amaters-it-mod-")
    s = Server(d)
    try:
        s.start()
        yield s
    finally:
        s.stop()
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def mclient(module_server):
    return module_server.client()


def assert_error(resp, code, category=CLIENT_ERROR, request_id=None):
    """resp (QueryResponse or BatchResponse) carries error `code`."""
    assert resp.WhichOneof("response") == "error", \
        f"expected error {E.ErrorCode.Name(code)}, got {resp}"
    err = resp.error
    assert err.code == code, \
        (f"expected {E.ErrorCode.Name(code)}, got "
         f"{E.ErrorCode.Name(err.code)}: {err.message}")
    if category is not None:
        assert err.category == category, \
            (f"{E.ErrorCode.Name(code)}: expected category "
             f"{E.ErrorCategory.Name(category)}, got "
             f"{E.ErrorCategory.Name(err.category)}")
    assert err.message, "an error must carry a message"
    if request_id is not None:
        assert resp.request_id == request_id
    return err


def result_of(resp):
    """The QueryResult of a successful QueryResponse."""
    assert resp.WhichOneof("response") == "result", \
        f"expected a result, got {resp}"
    return resp.result


def single_value(resp):
    """The CipherBlob of a GET answer, or None when the key is absent."""
    r = result_of(resp)
    assert r.WhichOneof("result") == "single", f"expected single: {r}"
    return r.single.value if r.single.HasField("value") else None


def affected(resp):
    r = result_of(resp)
    assert r.WhichOneof("result") == "success", f"expected success: {r}"
    return r.success.affected_rows


def multi_values(resp):
    r = result_of(resp)
    assert r.WhichOneof("result") == "multi", f"expected multi: {r}"
    return list(r.multi.values)


def rpc_code(fn, *a, **kw):
    """Runs fn; returns grpc.StatusCode.OK with the result, or the
    failure's status code with None."""
    try:
        return grpc.StatusCode.OK, fn(*a, **kw)
    except grpc.RpcError as e:
        return e.code(), None


def admin(client, command, coll="admin"):
    """Runs an admin command; returns (QueryResponse, parsed JSON or
    None when the answer carries no value)."""
    resp = client.query(q_get(coll, b"__admin__:" + command.encode()))
    if resp.WhichOneof("response") != "result":
        return resp, None
    v = single_value(resp)
    if v is None:
        return resp, None
    assert v.HasField("metadata"), "admin answers carry metadata"
    assert v.metadata.checksum == crc(v.data)
    assert v.metadata.size == len(v.data)
    return resp, json.loads(v.data.decode("utf-8"))


def run_cli(args, env=None, timeout=30):
    """Runs the server binary with args (a list without the program);
    returns CompletedProcess with text output."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([SERVER_BIN] + list(args), capture_output=True,
                          text=True, env=e, timeout=timeout)


@contextlib.contextmanager
def small_tmpfs(path, size_mb):
    """A tmpfs of size_mb MiB mounted on path (created) for the block, to
    fill a disk; skips the test where mounting is not allowed. Unmounted
    (lazily) afterwards whatever happens."""
    os.makedirs(path, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mb,
                       "tmpfs", path], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], capture_output=True)


def grow_tmpfs(path, size_mb):
    """Gives the tmpfs on path size_mb MiB (space coming back)."""
    subprocess.run(["mount", "-o", "remount,size=%dm" % size_mb, path],
                   check=True)


def wait_until(pred, timeout=10.0, interval=0.02):
    """Polls pred() until it is true; returns its last value."""
    deadline = time.monotonic() + timeout
    v = pred()
    while not v and time.monotonic() < deadline:
        time.sleep(interval)
        v = pred()
    return v


def shown(text, key, section):
    """Value text of `key` inside [section] of a --show dump."""
    m = re.search(r"^\[" + re.escape(section) + r"\]\n(.*?)(?=^\[|\Z)",
                  text, re.S | re.M)
    assert m, f"no [{section}] in dump"
    v = re.search(r"^" + re.escape(key) + r"\s*=\s*(.+)$", m.group(1), re.M)
    assert v, f"no {section}.{key} in dump"
    return v.group(1).strip()


def start_failing(s, timeout=15, why="server did not exit on a start-up "
                  "error"):
    """Starts s expecting it to exit by itself (a start-up failure);
    returns (rc, output). Fails the test with why when it keeps
    running after timeout seconds (it is killed)."""
    s.start(wait=False)
    try:
        rc = s.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        s.proc.kill()
        s.proc.wait()
        pytest.fail(why + ":\n" + s.log()[-4000:])
    s.logf.flush()
    return rc, s.log()


def server_alive_and_serving(s):
    """The process runs and answers HealthCheck and a SET/GET."""
    assert s.proc.poll() is None, "server died:\n" + s.log()[-4000:]
    c = s.client()
    assert c.health().status == aql_pb2.HEALTH_SERVING
    coll = unique("alive")
    result_of(c.set(coll, b"k", b"v"))
    v = single_value(c.get(coll, b"k"))
    assert v is not None and v.data == b"v"



# ---------------------------------------------------------------------------
# Security helpers (test_security_*.py): credentials in call metadata, TLS
# channels, and a small in-test PKI (keys, certificates, CRLs).
# ---------------------------------------------------------------------------
import collections  # noqa: E402
import datetime  # noqa: E402


class _CallDetails(
        collections.namedtuple(
            "_CallDetails", ("method", "timeout", "metadata", "credentials",
                             "wait_for_ready", "compression")),
        grpc.ClientCallDetails):
    pass


class MetadataInterceptor(grpc.UnaryUnaryClientInterceptor,
                          grpc.UnaryStreamClientInterceptor,
                          grpc.StreamUnaryClientInterceptor,
                          grpc.StreamStreamClientInterceptor):
    """Adds fixed metadata (credentials) to every call of a channel."""

    def __init__(self, metadata):
        self.metadata = list(metadata)

    def _details(self, d):
        md = list(d.metadata or []) + self.metadata
        return _CallDetails(d.method, d.timeout, md, d.credentials,
                            getattr(d, "wait_for_ready", None),
                            getattr(d, "compression", None))

    def intercept_unary_unary(self, cont, d, req):
        return cont(self._details(d), req)

    def intercept_unary_stream(self, cont, d, req):
        return cont(self._details(d), req)

    def intercept_stream_unary(self, cont, d, it):
        return cont(self._details(d), it)

    def intercept_stream_stream(self, cont, d, it):
        return cont(self._details(d), it)


def md_client(channel, metadata=()):
    """A Client whose every call carries `metadata` (list of pairs)."""
    if metadata:
        channel = grpc.intercept_channel(channel,
                                         MetadataInterceptor(metadata))
    return Client(channel)


def bearer_client(channel, token):
    return md_client(channel, [("authorization", "Bearer " + token)])


def tls_channel(addr, root_pem, key_pem=None, chain_pem=None,
                name="localhost"):
    """A TLS channel to addr trusting root_pem (bytes); with key_pem and
    chain_pem it presents that client certificate. Each channel has its
    own subchannel pool so it opens its own connection."""
    creds = grpc.ssl_channel_credentials(root_certificates=root_pem,
                                         private_key=key_pem,
                                         certificate_chain=chain_pem)
    return grpc.secure_channel(
        addr, creds,
        options=[("grpc.ssl_target_name_override", name),
                 ("grpc.use_local_subchannel_pool", 1)])


def status_of(fn, *a, **kw):
    """Runs fn; returns (code, details, trailing metadata dict, result)."""
    try:
        return grpc.StatusCode.OK, "", {}, fn(*a, **kw)
    except grpc.RpcError as e:
        tmd = {}
        try:
            tmd = dict(e.trailing_metadata() or ())
        except Exception:  # noqa: BLE001 - not every RpcError has them
            tmd = {}
        return e.code(), e.details() or "", tmd, None


class Pki:
    """Keys, certificates and CRLs made with python3-cryptography."""

    def __init__(self):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        self.x509, self.hashes, self.ser = x509, hashes, serialization
        self.ec, self.NameOID = ec, NameOID

    def key(self):
        return self.ec.generate_private_key(self.ec.SECP256R1())

    def name(self, cn, org=None):
        attrs = []
        if org is not None:
            attrs.append(self.x509.NameAttribute(
                self.NameOID.ORGANIZATION_NAME, org))
        attrs.append(self.x509.NameAttribute(self.NameOID.COMMON_NAME, cn))
        return self.x509.Name(attrs)

    def _ca_cert(self, key, subject, issuer, signing_key):
        """A CA certificate (30 days) for key's public key."""
        now = datetime.datetime.utcnow()
        return (self.x509.CertificateBuilder()
                .subject_name(subject).issuer_name(issuer)
                .public_key(key.public_key())
                .serial_number(self.x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(self.x509.BasicConstraints(ca=True,
                                                          path_length=None),
                               critical=True)
                .add_extension(self.x509.KeyUsage(
                    digital_signature=True, content_commitment=False,
                    key_encipherment=False, data_encipherment=False,
                    key_agreement=False, key_cert_sign=True, crl_sign=True,
                    encipher_only=False, decipher_only=False), critical=True)
                .sign(signing_key, self.hashes.SHA256()))

    def ca(self, cn="Test CA"):
        """Returns (key, cert) of a self-signed CA."""
        k = self.key()
        n = self.name(cn, "Test")
        return k, self._ca_cert(k, n, n, k)

    def intermediate(self, ca, cn):
        """Returns (key, cert) of an intermediate CA signed by ca."""
        ca_key, ca_cert = ca
        k = self.key()
        return k, self._ca_cert(k, self.name(cn, "Test"), ca_cert.subject,
                                ca_key)

    def leaf(self, ca, cn, org=None, server=False, serial=None):
        """Returns (key, cert) signed by ca = (key, cert). Server
        certificates name localhost and 127.0.0.1."""
        import ipaddress
        from cryptography.x509.oid import ExtendedKeyUsageOID
        ca_key, ca_cert = ca
        k = self.key()
        now = datetime.datetime.utcnow()
        b = (self.x509.CertificateBuilder()
             .subject_name(self.name(cn, org))
             .issuer_name(ca_cert.subject).public_key(k.public_key())
             .serial_number(serial or self.x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=30))
             .add_extension(self.x509.BasicConstraints(ca=False,
                                                       path_length=None),
                            critical=True))
        if server:
            b = b.add_extension(self.x509.SubjectAlternativeName([
                self.x509.DNSName("localhost"),
                self.x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            b = b.add_extension(self.x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        else:
            b = b.add_extension(self.x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        return k, b.sign(ca_key, self.hashes.SHA256())

    def crl(self, ca, serials):
        ca_key, ca_cert = ca
        now = datetime.datetime.utcnow()
        b = (self.x509.CertificateRevocationListBuilder()
             .issuer_name(ca_cert.subject)
             .last_update(now - datetime.timedelta(minutes=5))
             .next_update(now + datetime.timedelta(days=7)))
        for s in serials:
            b = b.add_revoked_certificate(
                self.x509.RevokedCertificateBuilder().serial_number(s)
                .revocation_date(now - datetime.timedelta(minutes=1))
                .build())
        return b.sign(ca_key, self.hashes.SHA256())

    def pem(self, obj):
        """PEM bytes of a certificate, CRL or private key."""
        if hasattr(obj, "private_bytes"):
            return obj.private_bytes(self.ser.Encoding.PEM,
                                     self.ser.PrivateFormat.PKCS8,
                                     self.ser.NoEncryption())
        return obj.public_bytes(self.ser.Encoding.PEM)


def write_file(path, data, mode=0o600):
    """Writes bytes or text to path atomically (rename) and returns it."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return path


def read_jsonl(path):
    """The JSON records of a JSON Lines file ([] when it is missing)."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except OSError:
        return []
    # JSON Lines are separated by "\n" only (not str.splitlines(), which
    # also splits at U+2028 and others that JSON strings may hold raw).
    return [json.loads(line) for line in text.split("\n") if line.strip()]


# --- restart and independent channels (durability tests) ---

def _server_restart(self, wait=True):
    """Starts the server again on the same data dir and ports."""
    if self.channel is not None:
        self.channel.close()
        self.channel = None
    return self.start(wait=wait)


def _server_client_new_channel(self):
    """A client on a channel of its own (for concurrent writers)."""
    ch = grpc.insecure_channel(
        self.addr, options=[("grpc.max_receive_message_length", 256 << 20),
                            ("grpc.max_send_message_length", 256 << 20)])
    return Client(ch)


Server.restart = _server_restart
Server.client_new_channel = _server_client_new_channel
