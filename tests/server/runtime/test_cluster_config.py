"""`scanfloor serve-cluster`'s pieces that need no running cluster: the nginx config, refusals."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from scripts.demo.procs import free_port
from server.cli.main import main
from server.runtime import cluster


def test_the_nginx_config_is_filled_in_and_nginx_accepts_it(tmp_path):
    text = cluster.render_nginx(
        "127.0.0.1:8800", ["127.0.0.1:9001", "127.0.0.1:9002"], tmp_path, 262144
    )
    assert "{{" not in text.replace("{{...}}", "")
    assert text.count("server 127.0.0.1:9001 ") == 2  # in both pools
    assert "hash $remote_addr consistent" in text and "least_conn" in text
    assert "proxy_set_header Upgrade $http_upgrade" in text
    assert f"pid {tmp_path}/nginx.pid" in text
    nginx = cluster.find_binary(cluster.NGINX_CANDIDATES)
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install -y nginx)")
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    check = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "err.log")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr


def test_an_unfilled_field_is_refused(tmp_path):
    template = tmp_path / "t.conf"
    template.write_text("listen {{listen}}; worker_processes {{workers}};")
    with pytest.raises(cluster.ClusterError, match="workers"):
        cluster.render_nginx("1.2.3.4:80", [], tmp_path, 1, template=template)


def test_serve_cluster_says_when_no_redis_answers(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "none.toml"))
    if cluster.find_binary(cluster.NGINX_CANDIDATES) is None:
        pytest.skip("nginx is not installed (apt-get install -y nginx)")
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = CliRunner().invoke(
        main, ["serve-cluster", "--data-dir", str(tmp_path / "data"), "--redis-url", url]
    )
    assert result.exit_code != 0
    assert f"no Redis answers at {url}" in result.output


def test_serve_cluster_refuses_a_database_it_cannot_open_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "none.toml"))
    result = CliRunner().invoke(
        main, ["serve-cluster", "--data-dir", str(tmp_path), "--database", "mysql://db/site"]
    )
    assert result.exit_code != 0
    assert "bad --database: database_url 'mysql://db/site' must start with" in result.output
    assert not (tmp_path / "scanfloor.db").exists()


def test_serve_cluster_refuses_both_a_redis_url_and_a_private_redis(tmp_path, monkeypatch):
    # docs/running.md: `[--redis-url URL | --private-redis]`, one or the other.
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "none.toml"))
    result = CliRunner().invoke(
        main,
        ["serve-cluster", "--data-dir", str(tmp_path / "data")]
        + ["--redis-url", "redis://127.0.0.1:6379/0", "--private-redis"],
    )
    assert result.exit_code == 2
    assert "--redis-url and --private-redis: give one or the other" in result.output
    assert not (tmp_path / "data").exists()


def test_the_state_file_says_what_runs_where(tmp_path):
    # docs/processes.md: the keys of `--state-file`.
    c = cluster.Cluster(
        data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0", state_file=tmp_path / "s.json"
    )
    c.servers.append(cluster.ServerProcess(port=9001, log=None))
    c.write_state()
    state = json.loads((tmp_path / "s.json").read_text())
    assert set(state) == {"url", "redis_url", "run_dir", "nginx_pid", "worker_pid", "processes"}
    assert state["processes"] == [{"url": "http://127.0.0.1:9001", "port": 9001, "pid": None}]
