import pytest

from stockfeed_producer.cli import build_parser, main
from stockfeed_producer.config import ConfigError, load_settings
from stockfeed_producer.finnhub_rest import Outcome, outcome_for_status
from stockfeed_producer.kafka_publisher import kafka_config

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("PRODUCER_"):
            monkeypatch.delenv(name)


def test_no_key_and_no_api_url_names_the_variable():
    with pytest.raises(ConfigError, match=r"^PRODUCER_API_URL is required"):
        load_settings()


def test_cli_exits_2_on_bad_config(capsys):
    assert main([]) == 2
    assert "PRODUCER_API_URL" in capsys.readouterr().err
    assert main(["--api-url", "http://x/api/v1", "--plan-calls-per-minute", "many"]) == 2
    assert "PRODUCER_PLAN_CALLS_PER_MINUTE" in capsys.readouterr().err


def test_simulator_url_without_key():
    settings = load_settings({"api_url": "http://sim:8080/api/v1/"})
    assert settings.api_key is None
    assert settings.rest_base_url == "http://sim:8080/api/v1"
    assert settings.trades_ws_url == "ws://sim:8080/"
    assert settings.message_source == "simulator"
    assert settings.quotes_topic == "stock-quotes"


def test_key_from_env_defaults_to_finnhub_and_never_shows(monkeypatch):
    monkeypatch.setenv("PRODUCER_FINNHUB_API_KEY", "sekret-123")
    settings = load_settings()
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "sekret-123"
    assert settings.rest_base_url == "https://finnhub.io/api/v1"
    assert settings.trades_ws_url == "wss://ws.finnhub.io"
    assert settings.message_source == "finnhub"
    assert "sekret-123" not in repr(settings)
    assert "sekret-123" not in str(settings.model_dump())


def test_key_from_a_mounted_file(tmp_path, monkeypatch):
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n")
    monkeypatch.setenv("PRODUCER_FINNHUB_API_KEY_FILE", str(key_file))
    settings = load_settings()
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "from-file"


def test_key_file_problems_name_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("PRODUCER_FINNHUB_API_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=r"^PRODUCER_FINNHUB_API_KEY_FILE: cannot read"):
        load_settings()
    (tmp_path / "empty").write_text("  \n")
    monkeypatch.setenv("PRODUCER_FINNHUB_API_KEY_FILE", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="is empty"):
        load_settings()
    monkeypatch.setenv("PRODUCER_FINNHUB_API_KEY", "k")
    with pytest.raises(ConfigError, match="both set"):
        load_settings()


def test_the_key_has_no_flag():
    flags = {action.dest for action in build_parser()._actions}
    assert "finnhub_api_key" not in flags
    assert "finnhub_api_key_file" in flags
    with pytest.raises(ConfigError, match="environment or a file only"):
        load_settings({"finnhub_api_key": "k"})


def test_symbols_are_checked_and_deduplicated(monkeypatch):
    monkeypatch.setenv("PRODUCER_API_URL", "http://sim/api/v1")
    monkeypatch.setenv("PRODUCER_SYMBOLS", "AAPL, MSFT,AAPL,BRK.B")
    assert load_settings().symbols == ["AAPL", "MSFT", "BRK.B"]
    monkeypatch.setenv("PRODUCER_SYMBOLS", "AAPL,msft")
    with pytest.raises(ConfigError, match=r"^PRODUCER_SYMBOLS: .*msft"):
        load_settings()


def test_trades_mode_allows_fifty_symbols_on_the_free_plan(monkeypatch):
    monkeypatch.setenv("PRODUCER_API_URL", "http://sim/api/v1")
    symbols = ",".join(f"S{i:03d}" for i in range(51))
    monkeypatch.setenv("PRODUCER_SYMBOLS", symbols)
    assert len(load_settings().symbols) == 51  # quotes mode: no WebSocket limit
    with pytest.raises(ConfigError, match=r"^PRODUCER_SYMBOLS: 51 symbols"):
        load_settings({"mode": "trades"})
    assert len(load_settings({"mode": "trades", "ws_max_symbols": "100"}).symbols) == 51


def test_flags_override_env(monkeypatch):
    monkeypatch.setenv("PRODUCER_API_URL", "http://sim/api/v1")
    monkeypatch.setenv("PRODUCER_FEED", "from-env")
    assert load_settings({"feed": "from-flag"}).feed == "from-flag"


def test_kafka_config_is_idempotent_and_bounded(monkeypatch):
    monkeypatch.setenv("PRODUCER_API_URL", "http://sim/api/v1")
    config = kafka_config(load_settings({"kafka_compression": "zstd", "kafka_queue_max_messages": "500"}))
    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"
    assert config["compression.type"] == "zstd"
    assert config["queue.buffering.max.messages"] == 500


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (200, Outcome.OK),
        (429, Outcome.RATE_LIMITED),
        (500, Outcome.RETRYABLE),
        (503, Outcome.RETRYABLE),
        (408, Outcome.RETRYABLE),
        (401, Outcome.CLIENT_ERROR),
        (403, Outcome.CLIENT_ERROR),
        (422, Outcome.CLIENT_ERROR),
    ],
)
def test_status_outcomes(code, outcome):
    assert outcome_for_status(code) is outcome
