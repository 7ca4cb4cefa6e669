"""Mutual TLS ([network] tls_*, require_client_cert; [auth.mtls]): the
server verifies client certificates against tls_ca, refuses revoked ones
(auth.mtls.crl_path) and those of other organizations
(allowed_organizations), and names the principal after the subject CN
(checked in the audit log, since mTLS principals carry no roles and get
authz.default_role). All keys, certificates and CRLs are made here."""
import os

import grpc
import pytest

from conftest import (E, Pki, Server, aql_pb2, assert_error, read_jsonl,
                      result_of, single_value, status_of, tls_channel,
                      unique, wait_until, write_file, Client)


class MtlsPki:
    def __init__(self, d):
        p = self.p = Pki()
        self.dir = d
        self.ca = p.ca("Amaters Test CA")
        self.other_ca = p.ca("Some Other CA")
        self.server = p.leaf(self.ca, "localhost", "Amaters", server=True)
        self.clients = {
            "good": p.leaf(self.ca, "client-good", "Acme"),
            "good2": p.leaf(self.ca, "client-second", "Partner"),
            "revoked": p.leaf(self.ca, "client-revoked", "Acme"),
            "wrong_org": p.leaf(self.ca, "client-evil", "Evil Corp"),
            "no_org": p.leaf(self.ca, "client-no-org", None),
            "other_ca": p.leaf(self.other_ca, "client-other", "Acme"),
        }
        self.crl = p.crl(self.ca,
                         [self.clients["revoked"][1].serial_number])
        self.paths = {
            "cert": write_file(os.path.join(d, "server.crt"),
                               p.pem(self.server[1])),
            "key": write_file(os.path.join(d, "server.key"),
                              p.pem(self.server[0])),
            "ca": write_file(os.path.join(d, "ca.crt"), p.pem(self.ca[1])),
            "crl": write_file(os.path.join(d, "ca.crl"), p.pem(self.crl)),
            "audit": os.path.join(d, "audit.jsonl"),
        }

    def config(self, require=True, default_role="user", reject=True):
        P = self.paths
        return f"""
[network]
tls_enabled = true
tls_cert = "{P['cert']}"
tls_key = "{P['key']}"
tls_ca = "{P['ca']}"
require_client_cert = {str(require).lower()}

[auth]
enabled = true
methods = ["mtls"]
reject_unauthenticated = {str(reject).lower()}

[auth.mtls]
crl_path = "{P['crl']}"
allowed_organizations = ["Acme", "Partner"]

[authz]
enabled = true
default_role = "{default_role}"
audit_enabled = true
audit_log_path = "{P['audit']}"
audit_fsync = "always"
"""

    def channel(self, server, who=None, root=None):
        root = root or self.p.pem(self.ca[1])
        if who is None:
            return tls_channel(server.addr, root)
        k, c = self.clients[who]
        return tls_channel(server.addr, root, self.p.pem(k), self.p.pem(c))


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return MtlsPki(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="module")
def mtls_server(pki, tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("mtls")), pki.config())
    s.start()
    yield s
    s.stop()


def call(ch, fn="get"):
    c = Client(ch)
    try:
        if fn == "get":
            return status_of(c.get, "mtls", b"k")
        return status_of(c.health)
    finally:
        ch.close()


def test_good_certificate_accepted_cn_is_principal(pki, mtls_server):
    ch = pki.channel(mtls_server, "good")
    c = Client(ch)
    coll = unique("mtls")
    result_of(c.set(coll, b"k", b"v"))  # default_role user may write
    assert single_value(c.get(coll, b"k")).data == b"v"
    assert c.health().status == aql_pb2.HEALTH_SERVING
    ch.close()

    def principals():
        return {(r.get("principal"), r.get("auth_method"))
                for r in read_jsonl(pki.paths["audit"])
                if r.get("event_type") == "authentication"
                and r.get("result") == "success"}
    assert wait_until(lambda: ("client-good", "mtls") in principals(),
                      timeout=5), principals()


def test_second_allowed_organization_accepted(pki, mtls_server):
    code, details, _, _ = call(pki.channel(mtls_server, "good2"))
    assert code == grpc.StatusCode.OK, details


@pytest.mark.parametrize("who", [None, "other_ca"])
def test_untrusted_client_refused_in_handshake(pki, mtls_server, who):
    """No client certificate, or one from another CA: the TLS handshake
    fails (require_client_cert), so no call gets through."""
    code, details, _, res = call(pki.channel(mtls_server, who))
    assert code in (grpc.StatusCode.UNAVAILABLE,
                    grpc.StatusCode.UNAUTHENTICATED), (code, details)
    assert res is None


@pytest.mark.parametrize("who,words", [
    ("revoked", ["revoked"]),
    ("wrong_org", ["organization"]),
    ("no_org", ["organization"]),
])
def test_policy_refusals(pki, mtls_server, who, words):
    for fn in ("get", "health"):
        code, details, _, _ = call(pki.channel(mtls_server, who), fn)
        assert code == grpc.StatusCode.UNAUTHENTICATED, (who, fn, code,
                                                         details)
        assert any(w in details.lower() for w in words), details


def test_plaintext_client_refused(mtls_server):
    ch = grpc.insecure_channel(mtls_server.addr)
    code, _, _, _ = call(ch)
    assert code != grpc.StatusCode.OK


def test_server_untrusted_by_client(pki, mtls_server):
    """A client trusting only another CA refuses the server."""
    ch = pki.channel(mtls_server, "good",
                     root=pki.p.pem(pki.other_ca[1]))
    code, _, _, _ = call(ch)
    assert code == grpc.StatusCode.UNAVAILABLE


def test_optional_client_cert_without_cert_unauthenticated(pki, make_server):
    """require_client_cert = false with a CA: certificates are requested;
    a client without one presents no credentials and is refused by
    reject_unauthenticated with UNAUTHENTICATED; with a good one it
    passes; mTLS principals get the default role (reader: no writes)."""
    s = make_server(config_text=pki.config(require=False,
                                           default_role="reader"))
    code, details, _, _ = call(pki.channel(s, None))
    assert code == grpc.StatusCode.UNAUTHENTICATED, (code, details)
    assert "credential" in details.lower()
    ch = pki.channel(s, "good")
    c = Client(ch)
    assert single_value(c.get(unique("m"), b"k")) is None
    assert_error(c.set(unique("m"), b"k", b"v"),
                 E.ERROR_AUTH_INSUFFICIENT_PERMISSIONS,
                 category=E.CATEGORY_AUTH)
    ch.close()
    code, details, _, _ = call(pki.channel(s, "revoked"))
    assert code == grpc.StatusCode.UNAUTHENTICATED, (code, details)


def test_ca_certs_dir_and_crl_scoped_to_issuer(pki, make_server,
                                               tmpdir_path):
    """A second CA in auth.mtls.ca_certs_dir is trusted too; the CRL of
    the first CA revokes only its own certificates: a certificate of the
    second CA with the same serial number as a revoked one is accepted,
    while the revoked one is still refused."""
    p = pki.p
    cadir = os.path.join(tmpdir_path, "cas")
    os.makedirs(cadir)
    ca2 = p.ca("Second Trusted CA")
    write_file(os.path.join(cadir, "second.pem"), p.pem(ca2[1]))
    write_file(os.path.join(cadir, "README.txt"), b"not a certificate")
    revoked_serial = pki.clients["revoked"][1].serial_number
    twin = p.leaf(ca2, "client-twin", "Acme", serial=revoked_serial)
    cfg = pki.config().replace(
        "[auth.mtls]\n", f'[auth.mtls]\nca_certs_dir = "{cadir}"\n')
    s = make_server(config_text=cfg)
    root = p.pem(pki.ca[1])
    ch = tls_channel(s.addr, root, p.pem(twin[0]), p.pem(twin[1]))
    code, details, _, _ = status_of(Client(ch).get, unique("tw"), b"k")
    assert code == grpc.StatusCode.OK, (code, details)
    ch.close()
    code, details, _, _ = call(pki.channel(s, "revoked"))
    assert code == grpc.StatusCode.UNAUTHENTICATED, (code, details)
    assert "revoked" in details.lower()


def test_revoked_intermediate_revokes_its_certificates(pki, make_server,
                                                      tmpdir_path):
    """The root's CRL lists an intermediate CA: a client certificate issued
    by that intermediate (presented with it) is refused, although the leaf
    itself is not listed (only the leaf was checked before: accepted);
    one under a good intermediate of the same root is accepted."""
    p = pki.p
    bad_ca = p.intermediate(pki.ca, "Compromised Intermediate")
    good_ca = p.intermediate(pki.ca, "Good Intermediate")
    under_bad = p.leaf(bad_ca, "client-under-bad", "Acme")
    under_good = p.leaf(good_ca, "client-under-good", "Acme")
    crl = write_file(os.path.join(tmpdir_path, "root.crl"), p.pem(p.crl(
        pki.ca, [pki.clients["revoked"][1].serial_number,
                 bad_ca[1].serial_number])))
    s = make_server(config_text=pki.config().replace(pki.paths["crl"], crl))
    root = p.pem(pki.ca[1])
    for (k, c), inter, want in ((under_bad, bad_ca, "revoked"),
                                (under_good, good_ca, "ok")):
        ch = tls_channel(s.addr, root, p.pem(k), p.pem(c) + p.pem(inter[1]))
        code, details, _, _ = status_of(Client(ch).get, unique("im"), b"k")
        ch.close()
        if want == "ok":
            assert code == grpc.StatusCode.OK, (code, details)
        else:
            assert code == grpc.StatusCode.UNAUTHENTICATED, (code, details)
            assert "revoked" in details.lower(), details


def test_crl_of_untrusted_ca_refused_at_start(pki, make_server,
                                              tmpdir_path):
    p = pki.p
    bad_crl = write_file(os.path.join(tmpdir_path, "other.crl"),
                         p.pem(p.crl(pki.other_ca, [1234])))
    cfg = pki.config().replace(pki.paths["crl"], bad_crl)
    s = make_server(config_text=cfg, start=False)
    s.start(wait=False)
    assert s.proc.wait(timeout=20) != 0
    assert "other.crl" in s.log(), s.log()[-2000:]
