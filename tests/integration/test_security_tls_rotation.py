"""Live rotation of the server certificate (src/security/tls.h,
Rotation): replacing tls_cert / tls_key on disk makes NEW connections see
the new certificate without a restart, connections already open keep
working, and a bad new file leaves the current certificate in use. The
certificate a new connection gets is read with the ssl module
(getpeercert(binary_form=True), ALPN h2)."""
import os
import socket
import ssl
import time

import grpc
import pytest
from cryptography import x509

from conftest import (Client, Pki, result_of, single_value, status_of,
                      tls_channel, unique, wait_until, write_file)


def peer_serial(port, ca_pem):
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    ctx.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            assert s.selected_alpn_protocol() == "h2"
            der = s.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der).serial_number


@pytest.fixture
def rot(make_server, tmpdir_path):
    p = Pki()
    ca = p.ca("Rotation CA")
    d = os.path.join(tmpdir_path, "certs")
    os.makedirs(d)
    paths = {"cert": os.path.join(d, "server.crt"),
             "key": os.path.join(d, "server.key")}
    first = p.leaf(ca, "localhost", "Amaters", server=True)
    write_file(paths["key"], p.pem(first[0]))
    write_file(paths["cert"], p.pem(first[1]))
    s = make_server(config_text=f"""
[network]
tls_enabled = true
tls_cert = "{paths['cert']}"
tls_key = "{paths['key']}"
""")
    return p, ca, paths, s, first


def install(p, paths, pair):
    write_file(paths["key"], p.pem(pair[0]))
    write_file(paths["cert"], p.pem(pair[1]))


def works(ch):
    c = Client(ch)
    coll = unique("rot")
    result_of(c.set(coll, b"k", b"v"))
    return single_value(c.get(coll, b"k")).data == b"v"


def test_rotation_new_connections_see_new_cert(rot):
    p, ca, paths, s, first = rot
    ca_pem = p.pem(ca[1])
    pid = s.proc.pid
    old = tls_channel(s.addr, ca_pem)
    assert works(old)
    assert peer_serial(s.grpc_port, ca_pem) == first[1].serial_number

    second = p.leaf(ca, "localhost", "Amaters Rotated", server=True)
    install(p, paths, second)
    assert wait_until(lambda: peer_serial(s.grpc_port, ca_pem)
                      == second[1].serial_number, timeout=5,
                      interval=0.1), "new connections never saw the new cert"
    new = tls_channel(s.addr, ca_pem)
    assert works(new)
    assert works(old), "an established channel must keep working"
    assert s.proc.pid == pid and s.proc.poll() is None, "no restart"
    old.close()
    new.close()


@pytest.mark.parametrize("bad", ["garbage_cert", "empty_key",
                                 "key_mismatch", "missing_key"])
def test_bad_new_files_keep_current_cert(rot, bad):
    p, ca, paths, s, first = rot
    ca_pem = p.pem(ca[1])
    old = tls_channel(s.addr, ca_pem)
    assert works(old)
    if bad == "garbage_cert":
        write_file(paths["cert"], b"-----BEGIN CERTIFICATE-----\nnope\n"
                                  b"-----END CERTIFICATE-----\n")
    elif bad == "empty_key":
        write_file(paths["key"], b"")
    elif bad == "key_mismatch":
        other = p.leaf(ca, "localhost", "Mismatch", server=True)
        write_file(paths["cert"], p.pem(other[1]))
    else:
        os.unlink(paths["key"])
    # Well past the reload throttle (500 ms): several handshakes.
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert peer_serial(s.grpc_port, ca_pem) == first[1].serial_number
        time.sleep(0.1)
    new = tls_channel(s.addr, ca_pem)
    assert works(new), "new connections must still be served"
    assert works(old)
    # A good pair afterwards is picked up.
    third = p.leaf(ca, "localhost", "Amaters Third", server=True)
    install(p, paths, third)
    assert wait_until(lambda: peer_serial(s.grpc_port, ca_pem)
                      == third[1].serial_number, timeout=5, interval=0.1)
    assert s.proc.poll() is None
    old.close()
    new.close()


def test_client_trusting_other_ca_refuses_rotated_cert(rot):
    """A certificate from a CA the client does not trust is not accepted
    by a client pinned to the original CA (sanity of the TLS checks)."""
    p, ca, paths, s, first = rot
    other_ca = p.ca("Unrelated CA")
    install(p, paths, p.leaf(other_ca, "localhost", "X", server=True))
    ca_pem = p.pem(ca[1])

    def refused():
        try:
            peer_serial(s.grpc_port, ca_pem)
            return False
        except ssl.SSLCertVerificationError:
            return True
    assert wait_until(refused, timeout=5, interval=0.1)
    code, _, _, _ = status_of(Client(tls_channel(s.addr, ca_pem)).health)
    assert code == grpc.StatusCode.UNAVAILABLE


def test_rotation_keeps_client_certificate_checks(make_server, tmpdir_path):
    """On an mTLS server a rotated certificate does not loosen client
    verification: after the reload a good client certificate is served
    with the new server certificate, and clients without one or from
    another CA are still refused."""
    from test_security_mtls import MtlsPki
    pki = MtlsPki(tmpdir_path)
    p = pki.p
    s = make_server(config_text=pki.config())
    ca_pem = p.pem(pki.ca[1])
    k, c = pki.clients["good"]
    kp = write_file(os.path.join(tmpdir_path, "cli.key"), p.pem(k))
    cp = write_file(os.path.join(tmpdir_path, "cli.crt"), p.pem(c))

    def serial():
        ctx = ssl.create_default_context(cadata=ca_pem.decode())
        ctx.set_alpn_protocols(["h2"])
        ctx.load_cert_chain(cp, kp)
        with socket.create_connection(("127.0.0.1", s.grpc_port),
                                      timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as t:
                der = t.getpeercert(binary_form=True)
        return x509.load_der_x509_certificate(der).serial_number

    assert serial() == pki.server[1].serial_number
    new = p.leaf(pki.ca, "localhost", "Amaters Rotated", server=True)
    write_file(pki.paths["key"], p.pem(new[0]))
    write_file(pki.paths["cert"], p.pem(new[1]))
    assert wait_until(lambda: serial() == new[1].serial_number, timeout=5,
                      interval=0.1)
    ch = pki.channel(s, "good")
    assert works(ch)
    ch.close()
    for who in (None, "other_ca"):
        ch = pki.channel(s, who)
        code, _, _, _ = status_of(Client(ch).health)
        assert code == grpc.StatusCode.UNAVAILABLE, (who, code)
        ch.close()
    ch = pki.channel(s, "revoked")
    code, _, _, _ = status_of(Client(ch).health)
    assert code == grpc.StatusCode.UNAUTHENTICATED
    ch.close()
