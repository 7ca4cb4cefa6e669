"""Configuration errors say where the bad value came from
(docs/configuration.md): a file position and the key, the environment
variable, or the flag; a rule between keys names the origin of each key
involved; a table is not a key.

Expected texts are written from the documentation, never copied from the
server's answers.
"""
from conftest import run_cli


def refused(args, env=None):
    r = run_cli(args + ["validate-config"], env=env, timeout=15)
    assert r.returncode == 1, r.stdout
    return r.stderr


def test_integer_out_of_64_bit_range_names_the_key(tmp_path):
    p = tmp_path / "range2.toml"
    p.write_text("[server]\nmax_connections = 99999999999999999999999\n")
    err = refused(["-c", str(p)])
    assert f"{p}:2:19: server.max_connections: integer out of 64-bit " \
        "range" in err, err


def test_empty_data_dir_names_its_origin(tmp_path):
    err = refused([], env={"AMATERS_DATA_DIR": ""})
    assert "server.data_dir is empty (from environment AMATERS_DATA_DIR)" \
        in err, err
    err = refused([], env={"AMATERS_SERVER__DATA_DIR": ""})
    assert "(from environment AMATERS_SERVER__DATA_DIR)" in err, err
    err = refused(["-d", ""])
    assert "server.data_dir is empty (from --data-dir)" in err, err
    p = tmp_path / "d.toml"
    p.write_text('[server]\ndata_dir = ""\n')
    err = refused(["-c", str(p)])
    assert f"server.data_dir is empty (from {p}:2:12)" in err, err


def test_same_bind_addresses_name_both_origins(tmp_path):
    p = tmp_path / "b.toml"
    p.write_text('[metrics]\nbind_address = "127.0.0.1:50051"\n')
    err = refused(["-c", str(p)])
    assert "server.bind_address and metrics.bind_address are both " \
        "127.0.0.1:50051" in err, err
    assert "server.bind_address: built-in default" in err, err
    assert f"metrics.bind_address: from {p}:2:16" in err, err
    err = refused(["-b", "127.0.0.1:7777"],
                  env={"AMATERS_METRICS__BIND_ADDRESS": "127.0.0.1:7777"})
    assert "server.bind_address: from --bind" in err, err
    assert "metrics.bind_address: from environment " \
        "AMATERS_METRICS__BIND_ADDRESS" in err, err


def test_environment_variable_naming_a_table(tmp_path):
    err = refused([], env={"AMATERS_STORAGE__WAL": "1"})
    assert "environment AMATERS_STORAGE__WAL: storage.wal is a table; set " \
        "its keys, e.g. AMATERS_STORAGE__WAL__ENABLED" in err, err
    assert "did you mean 'storage.wal'" not in err


def test_empty_config_file_name(tmp_path):
    r = run_cli(["-c", "", "validate-config"], timeout=15)
    assert r.returncode != 0
    assert "--config needs a file name" in r.stderr, r.stderr
    assert ": cannot read" not in r.stderr
