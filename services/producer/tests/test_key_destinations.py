"""The API key goes to Finnhub over TLS and nowhere else: any other destination is refused at start (exit 2)."""

import pytest

from stockfeed_producer.cli import main
from stockfeed_producer.config import ConfigError, key_may_go_to, load_settings

pytestmark = pytest.mark.unit

KEY = "sekret-4711"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("PRODUCER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PRODUCER_FINNHUB_API_KEY", KEY)


@pytest.mark.parametrize(
    "url",
    [
        "https://finnhub.io/api/v1",
        "https://FINNHUB.io/api/v1",
        "https://api.finnhub.io/api/v1",
        "wss://ws.finnhub.io",
        "https://finnhub.io:443/api/v1",
        "http://127.0.0.1:8080/api/v1",  # a simulator on this machine: the key never leaves it
        "ws://localhost:8080/",
        "http://[::1]:8080/api/v1",
    ],
)
def test_finnhub_over_tls_or_loopback_may_get_the_key(url):
    assert key_may_go_to(url, ["finnhub.io"])


@pytest.mark.parametrize(
    "url",
    [
        "http://finnhub.io/api/v1",  # plain text
        "ws://ws.finnhub.io",
        "https://evil.example/api/v1",
        "https://finnhub.io.evil.example/api/v1",
        "https://evilfinnhub.io/api/v1",
        "https://stockfeed-simulator:8080/api/v1",
        "http://stockfeed-simulator:8080/api/v1",
        "https://user:pw@finnhub.io/api/v1",
        "https://127.evil.example/api/v1",
        "ftp://finnhub.io/",
        "https:///api/v1",
    ],
)
def test_every_other_destination_is_refused(url):
    assert not key_may_go_to(url, ["finnhub.io"])


def test_the_default_finnhub_urls_are_accepted():
    settings = load_settings({"mode": "trades", "symbols": "AAPL"})
    assert settings.api_key is not None
    assert settings.rest_base_url == "https://finnhub.io/api/v1"
    assert settings.trades_ws_url == "wss://ws.finnhub.io"


@pytest.mark.parametrize(
    ("flags", "variable"),
    [
        ({"api_url": "http://stockfeed-simulator:8080/api/v1"}, "PRODUCER_API_URL"),
        ({"api_url": "https://collector.example/api/v1"}, "PRODUCER_API_URL"),
        ({"api_url": "http://finnhub.io/api/v1"}, "PRODUCER_API_URL"),
        ({"mode": "trades", "api_url": "http://finnhub.io/api/v1"}, "PRODUCER_API_URL"),
        ({"mode": "trades", "ws_url": "ws://ws.finnhub.io"}, "PRODUCER_WS_URL"),
        ({"mode": "trades", "ws_url": "wss://collector.example/"}, "PRODUCER_WS_URL"),
        ({"ws_url": "wss://collector.example/"}, "PRODUCER_WS_URL"),  # set, so it is checked even in quotes mode
    ],
)
def test_a_key_with_another_destination_names_the_variable(flags, variable):
    with pytest.raises(ConfigError, match=rf"^{variable}: an API key is set") as caught:
        load_settings(flags)
    assert KEY not in str(caught.value)


def test_the_refusal_never_shows_the_url_credentials_or_query():
    with pytest.raises(ConfigError) as caught:
        load_settings({"api_url": "https://me:pw@collector.example/api/v1?token=abc"})
    message = str(caught.value)
    assert "collector.example/api/v1" in message
    assert "pw" not in message.split("refusing")[1]
    assert "abc" not in message


def test_the_finnhub_hosts_are_configurable(monkeypatch):
    monkeypatch.setenv("PRODUCER_FINNHUB_HOSTS", "finnhub.io, proxy.corp.example")
    settings = load_settings({"api_url": "https://proxy.corp.example/api/v1"})
    assert settings.finnhub_hosts == ["finnhub.io", "proxy.corp.example"]
    with pytest.raises(ConfigError, match="PRODUCER_FINNHUB_HOSTS"):
        load_settings({"api_url": "http://proxy.corp.example/api/v1"})


def test_without_a_key_any_simulator_url_is_fine(monkeypatch):
    monkeypatch.delenv("PRODUCER_FINNHUB_API_KEY")
    settings = load_settings({"api_url": "http://stockfeed-simulator:8080/api/v1", "mode": "trades"})
    assert settings.trades_ws_url == "ws://stockfeed-simulator:8080/"


def test_the_cli_exits_2_naming_the_variable(capsys):
    assert main(["--api-url", "http://stockfeed-simulator:8080/api/v1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stockfeed-producer: PRODUCER_API_URL: an API key is set")
    assert KEY not in err
