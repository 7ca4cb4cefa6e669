"""Every integer key outside [storage] (which test_storage_settings.py
covers with data) works at both ends of the range docs/configuration.md
documents: the server starts with it, reports SERVING and answers a
query. The keys and ranges are read from the documentation, so a key
added to the schema is covered without touching this file.
"""
import os
import re

import pytest

from conftest import E, q_get, run_cli, unique

CONFIG_DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                           "configuration.md")
SKIP_SECTIONS = ("storage",)   # test_storage_settings.py


def documented_int_keys():
    """[(section, key, lo, hi)] from the tables of configuration.md."""
    out, section = [], None
    with open(CONFIG_DOCS, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^## \[([a-z_.]+)\]", line)
            if m:
                section = m.group(1)
                continue
            m = re.match(r"^\| `([a-z_]+)` \| integer \| `[^`]*` \| "
                         r"(\d+)\.\.(\d+) \|", line)
            if m and section and not section.startswith(SKIP_SECTIONS):
                out.append((section, m.group(1), int(m.group(2)),
                            int(m.group(3))))
    return out


KEYS = documented_int_keys()
CASES = [(s, k, v) for s, k, lo, hi in KEYS for v in sorted({lo, hi})]

# "Rules between keys" (configuration.md): a value that needs a partner
# gets it; a value no partner can satisfy must be refused by name.
COMPANION = {("cluster", "heartbeat_interval_ms", 60000):
             "election_timeout_ms = 600000\n"}
REFUSED = {("cluster", "election_timeout_ms", 1): "heartbeat_interval_ms"}


def test_the_documentation_was_read():
    assert len(KEYS) >= 20, KEYS
    assert ("server", "worker_threads", 0, 256) in KEYS


@pytest.mark.parametrize("section,key,value", CASES,
                         ids=["%s.%s=%d" % c for c in CASES])
def test_documented_range_ends_start_and_serve(make_server, section, key,
                                               value):
    text = "[%s]\n%s = %d\n" % (section, key, value)
    text += COMPANION.get((section, key, value), "")
    if (section, key, value) in REFUSED:
        s = make_server(text, start=False)
        r = run_cli(["-c", s.config_path, "validate-config"])
        assert r.returncode == 1
        assert key in r.stderr
        assert REFUSED[(section, key, value)] in r.stderr
        return
    s = make_server(text)
    cl = s.client()
    assert cl.health().status == 1          # SERVING
    resp = cl.query(q_get(unique("rng"), b"absent"))
    kind = resp.WhichOneof("response")
    if kind == "error":
        # a limit at its lowest may refuse the query; it must say why
        assert resp.error.code in (E.ERROR_VALIDATION_SIZE_EXCEEDED,
                                   E.ERROR_VALIDATION_INVALID_KEY,
                                   E.ERROR_NETWORK_TIMEOUT), resp
    else:
        assert kind == "result"
        assert not resp.result.single.HasField("value")
