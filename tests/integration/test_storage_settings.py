"""Every [storage] setting works at the ends of its documented range
(docs/configuration.md): the server starts with it, stores and reads small
and large values, and keeps them across a graceful restart. (A value the
validator accepts must never make the engine refuse to open: the
documented `block_cache_size_mb = 0` once did.)
"""
import os

import pytest

from conftest import single_value, unique

CASES = [
    "[storage]\nblock_cache_size_mb = 0\n",
    "[storage]\nblock_cache_size_mb = 1\n",
    "[storage]\nmemtable_size_mb = 1\n",
    "[storage]\nblob_min_size_kb = 0\n",
    "[storage]\nblob_min_size_kb = 1\n",
    "[storage]\nblob_min_size_kb = 1048576\n",
    "[storage.wal]\nenabled = false\nsync_mode = \"none\"\n",
    "[storage.wal]\nsegment_size_mb = 1\n",
    "[storage.wal]\nsync_mode = \"interval\"\nsync_interval_ms = 1\n",
    "[storage.wal]\nsync_mode = \"none\"\n",
    "[storage.wal]\ncommit_spin_us = 0\n",
    "[storage.wal]\ncommit_spin_us = 10000\n",
    "[storage.wal]\ndir = \"/ABS/wal-elsewhere\"\n",
    "[storage.compaction]\nstrategy = \"universal\"\n",
    "[storage.compaction]\nstrategy = \"fifo\"\n",
    "[storage.compaction]\nnum_levels = 1\n",
    "[storage.compaction]\nnum_levels = 20\nlevel_multiplier = 100\n",
    "[storage.compaction]\nlevel_multiplier = 2\nmax_concurrent = 1\n",
    "[storage.compaction]\nmax_concurrent = 64\n",
]


@pytest.mark.parametrize("text", CASES, ids=[
    c.replace("\n", " ").replace('"', "").strip() for c in CASES])
def test_storage_setting_starts_and_keeps_data(make_server, tmp_path, text):
    text = text.replace("/ABS", str(tmp_path))
    s = make_server(text)
    cl = s.client()
    c = unique("st")
    values = {b"small": b"v" * 100, b"large": os.urandom(64 << 10),
              b"empty": b""}
    for k, v in values.items():
        assert cl.set(c, k, v).WhichOneof("response") == "result"
    for k, v in values.items():
        assert single_value(cl.get(c, k)).data == v
    s.stop()
    s.start()
    cl = s.client()
    for k, v in values.items():
        got = single_value(cl.get(c, k))
        assert got is not None and got.data == v, (text, k)
    if "wal-elsewhere" in text:
        assert os.listdir(str(tmp_path / "wal-elsewhere"))
