"""The command line (operations.md, "Commands"): usage errors name the
option or argument at fault and exit 2 (an option of another command,
words after "--" that no command takes, a --timeout that is not a plain
number of seconds); help fits 80 columns; validate-config warns about
the files start would refuse to load.

Every command runs where a start would create ./data, to show that
nothing was started."""
import os
import subprocess

import pytest

from conftest import SERVER_BIN, run_cli


def cli(tmp_path, args, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([SERVER_BIN] + list(args), capture_output=True,
                          text=True, timeout=20, cwd=tmp_path, env=e)


@pytest.mark.parametrize("args,option,value", [
    (["status", "--timeout", "5"], "--timeout", "5"),
    (["version", "--format", "json"], "--format", "json"),
    (["--timeout=7", "status"], "--timeout", "7"),
    (["start", "--format", "human"], "--format", "human"),
])
def test_option_of_another_command_is_named(tmp_path, args, option, value):
    r = cli(tmp_path, args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"option '{option}' does not apply" in r.stderr, r.stderr
    assert f"'{value}'" not in r.stderr, r.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("args,word", [
    (["start", "--", "extra"], "extra"),
    (["version", "--", "more"], "more"),
    (["--", "version", "x"], "x"),
    (["status", "--", "--force"], "--force"),
])
def test_arguments_after_double_dash_are_usage_errors(tmp_path, args, word):
    r = cli(tmp_path, args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert f"unexpected argument '{word}'" in r.stderr, r.stderr
    assert not (tmp_path / "data").exists(), "nothing may start"


def test_command_after_double_dash(tmp_path):
    """'--' ends the options; the command is an operand like any other."""
    r = cli(tmp_path, ["--", "version"])
    v = cli(tmp_path, ["version"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == v.stdout
    r = cli(tmp_path, ["--", "frobnicate"])
    assert r.returncode == 2
    assert "unknown command 'frobnicate'" in r.stderr, r.stderr


def test_no_command_says_so(tmp_path):
    r = cli(tmp_path, ["--"])
    assert r.returncode == 2
    assert "no command given" in r.stderr, r.stderr


@pytest.mark.parametrize("value", [
    "nan", "NaN", "inf", "-inf", "0x10", "1e3", "-1", "", " 5", "5 ",
    "+5", "86401", "5.", ".5", "1,5", "100000000"])
def test_stop_timeout_must_be_plain_seconds(tmp_path, value):
    r = cli(tmp_path, ["stop", "--timeout", value])
    assert r.returncode == 2, (value, r.returncode, r.stderr)
    assert "--timeout" in r.stderr and f"'{value}'" in r.stderr, r.stderr


@pytest.mark.parametrize("value", ["0", "2.5", "86400", "007"])
def test_stop_timeout_accepted(tmp_path, value):
    # no server runs there: a valid timeout gets to "no running server"
    r = cli(tmp_path, ["-d", str(tmp_path / "d"), "stop", "--timeout",
                       value])
    assert r.returncode == 1, (value, r.returncode, r.stderr)
    assert "no running server" in r.stderr, r.stderr


@pytest.mark.parametrize("cmd", [None, "start", "stop", "status", "version",
                                 "validate-config", "repair"])
def test_help_fits_80_columns(tmp_path, cmd):
    r = cli(tmp_path, ([cmd] if cmd else []) + ["--help"])
    assert r.returncode == 0
    long = [ln for ln in r.stdout.splitlines() if len(ln) > 80]
    assert not long, long


def test_validate_config_warns_about_files_start_would_refuse(tmp_path):
    p = tmp_path / "tls.toml"
    cert, key = tmp_path / "no-cert.pem", tmp_path / "no-key.pem"
    p.write_text(f'[network]\ntls_enabled = true\ntls_cert = "{cert}"\n'
                 f'tls_key = "{key}"\n'
                 f'[authz]\nenabled = true\n'
                 f'roles_file = "{tmp_path}"\n')
    r = cli(tmp_path, ["-c", str(p), "validate-config"])
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stdout
    assert f'network.tls_cert = "{cert}"' in r.stderr, r.stderr
    assert f'network.tls_key = "{key}"' in r.stderr, r.stderr
    assert f'authz.roles_file = "{tmp_path}": is a directory' in r.stderr
    # with the files there, no warning
    cert.write_text("x")
    key.write_text("x")
    roles = tmp_path / "roles.toml"
    roles.write_text("")
    p.write_text(p.read_text().replace(f'"{tmp_path}"', f'"{roles}"'))
    r = cli(tmp_path, ["-c", str(p), "validate-config"])
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr, r.stderr


def test_validate_config_defaults_quiet():
    r = run_cli(["validate-config"], timeout=15)
    assert r.returncode == 0
    assert "warning" not in r.stderr, r.stderr


@pytest.mark.parametrize("args,option", [
    (["-c", "a.toml", "-c", "b.toml", "validate-config"], "-c"),
    (["-b", "127.0.0.1:1", "--bind", "127.0.0.1:2", "start"], "--bind"),
    (["-d", "x", "-d", "y", "start"], "-d"),
    (["stop", "--timeout", "1", "--timeout", "2"], "--timeout"),
    (["status", "--format", "json", "--format", "human"], "--format"),
])
def test_repeated_option_is_a_usage_error(tmp_path, args, option):
    r = cli(tmp_path, args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"option '{option}' given twice" in r.stderr, r.stderr
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_empty_config_option_is_a_usage_error(tmp_path):
    r = cli(tmp_path, ["-c", "", "start"])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "--config needs a file name" in r.stderr, r.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("cmd", ["validate-config", "start"])
def test_unsupported_setting_names_its_origin(tmp_path, cmd):
    r = cli(tmp_path, [cmd], env={"AMATERS_CLUSTER__ENABLED": "true"})
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "cluster.enabled = true (from environment " \
        "AMATERS_CLUSTER__ENABLED)" in r.stderr, r.stderr
    p = tmp_path / "c.toml"
    p.write_text("[cluster]\nenabled = true\n")
    r = cli(tmp_path, ["-c", str(p), cmd])
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert f"cluster.enabled = true (from {p}:2:11)" in r.stderr, r.stderr


@pytest.mark.parametrize("toml,key", [
    ('[logging]\nfile_enabled = true\nfile_path = "{p}"\n',
     "logging.file_path"),
    ('[authz]\naudit_enabled = true\naudit_log_path = "{p}"\n',
     "authz.audit_log_path"),
])
def test_pid_file_must_not_be_a_reopened_file(tmp_path, toml, key):
    """The PID file's lock is lost when the server closes any descriptor of
    it: a log or audit file (reopened on rotation or SIGHUP) cannot be
    the PID file."""
    shared = str(tmp_path / "shared.file")
    p = tmp_path / "s.toml"
    p.write_text(f'[server]\npid_file = "{shared}"\n' +
                 toml.format(p=shared))
    for cmd in ["validate-config", "start"]:
        r = cli(tmp_path, ["-c", str(p), cmd])
        assert r.returncode == 1, (cmd, r.returncode, r.stderr)
        assert f"server.pid_file {shared} (from {p}:2:12) is also {key}" \
            in r.stderr, r.stderr
