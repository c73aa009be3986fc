"""The live /metrics endpoint: content negotiation, addresses, the three
expositions over a real socket, and BOUNDARYTRACE_LISTEN."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

import boundarytrace as bt
from boundarytrace._serve import negotiate, parse_address
from prom_proto import families

PROTO = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
# What Prometheus 2.42 sends with native histograms on (and without).
PROM_NATIVE = PROTO + ";q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
PROM_CLASSIC = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


@pytest.mark.parametrize("accept, want", [
    (None, bt.Format.PROMETHEUS),
    ("", bt.Format.PROMETHEUS),
    ("text/plain", bt.Format.PROMETHEUS),
    ("*/*", bt.Format.PROMETHEUS),
    (PROM_NATIVE, bt.Format.PROMETHEUS_PROTOBUF),
    (PROM_CLASSIC, bt.Format.OPENMETRICS),
    ("application/vnd.google.protobuf;proto=other.Message;encoding=delimited", bt.Format.PROMETHEUS),
    ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
     bt.Format.PROMETHEUS),
    ("application/openmetrics-text;q=0.1,text/plain;q=0.9", bt.Format.PROMETHEUS),
    ("application/openmetrics-text;q=0,text/plain;q=0.5", bt.Format.PROMETHEUS),
    ("image/png", bt.Format.PROMETHEUS),
    ("text/plain;q=abc,application/openmetrics-text", bt.Format.OPENMETRICS),
])
def test_serve__negotiation(accept, want):
    assert negotiate(accept) == want


@pytest.mark.parametrize("value, want", [
    ("9464", ("127.0.0.1", 9464)),
    (":9464", ("127.0.0.1", 9464)),
    ("0.0.0.0:80", ("0.0.0.0", 80)),
    ("localhost:0", ("localhost", 0)),
    ("[::1]:9464", ("::1", 9464)),
])
def test_serve__addresses(value, want):
    assert parse_address(value) == want


@pytest.mark.parametrize("value", ["", "x", "host:", "1:65536", "1:-1", "[::1]9464", "[::1", "h:p"])
def test_serve__bad_addresses_say_what(value):
    with pytest.raises(ValueError, match="port|host"):
        parse_address(value)


def _get(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.headers["Content-Type"], resp.read()


def test_serve__three_expositions_over_a_socket(metrics):
    metrics.record("served", 5000, phases={bt.NETWORK: 4000}, items=2)
    with bt.serve("127.0.0.1:0", metrics=metrics) as ep:
        assert ep.host == "127.0.0.1" and ep.port > 0
        assert ep.url == f"http://127.0.0.1:{ep.port}/metrics"
        status, ctype, body = _get(ep.url)
        assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
        assert b'boundarytrace_operations_total{op="served"} 1\n' in body
        _, ctype, body = _get(ep.url, PROM_CLASSIC)
        assert ctype.startswith("application/openmetrics-text; version=1.0.0")
        assert body.endswith(b"# EOF\n")
        _, ctype, body = _get(ep.url, PROM_NATIVE)
        assert ctype == bt._serve.CONTENT_TYPES[bt.Format.PROMETHEUS_PROTOBUF]
        names = {f.name for f in families(body)}
        assert "boundarytrace_operation_nanoseconds" in names
        # each scrape is a fresh snapshot
        metrics.record("served", 7000)
        _, _, body = _get(ep.url)
        assert b'boundarytrace_operations_total{op="served"} 2\n' in body
        with pytest.raises(urllib.error.HTTPError) as err:
            _get(ep.url.replace("/metrics", "/other"))
        assert err.value.code == 404
        err.value.close()


def test_serve__a_taken_port_is_an_oserror():
    with bt.serve("127.0.0.1:0") as ep:
        with pytest.raises(OSError):
            bt.serve(f"127.0.0.1:{ep.port}")


def _child(env_value, code):
    env = dict(os.environ, BOUNDARYTRACE_LISTEN=env_value)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)


def test_serve__listen_variable_serves_without_code_change():
    code = ("import boundarytrace as bt, urllib.request\n"
            "ep = bt._serve._started[0]\n"
            "bt.record('from_env', 1234)\n"
            "body = urllib.request.urlopen(ep.url, timeout=10).read()\n"
            "print(ep.host, b'op=\"from_env\"' in body)\n")
    r = _child("127.0.0.1:0", code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["127.0.0.1", "True"]


@pytest.mark.parametrize("value", ["not-an-address", "127.0.0.1:99999"])
def test_serve__odd_listen_value_gets_one_message(value):
    r = _child(value, "import boundarytrace as bt; print(len(bt._serve._started))")
    assert r.returncode == 0 and r.stdout.strip() == "0"
    lines = [ln for ln in r.stderr.splitlines() if "BOUNDARYTRACE_LISTEN" in ln]
    assert len(lines) == 1 and value in lines[0] and "not serving" in lines[0]
