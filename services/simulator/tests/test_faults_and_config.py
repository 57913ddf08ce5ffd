import pytest
from pydantic import ValidationError

from stockfeed_simulator.cli import build_parser, load_settings
from stockfeed_simulator.config import SimulatorSettings
from stockfeed_simulator.faults import FaultKnobs
from stockfeed_simulator.trades_ws import parse_client_message

pytestmark = pytest.mark.unit


def test_knob_defaults_match_the_free_plan():
    knobs = FaultKnobs()
    assert (knobs.rate_limit_per_minute, knobs.rate_limit_per_second) == (60, 30)
    assert knobs.market_open


def test_knob_updates_are_validated_and_copy():
    knobs = FaultKnobs()
    assert knobs.updated({"hang_share": 0.5}).hang_share == 0.5
    assert knobs.hang_share == 0.0
    with pytest.raises(ValidationError, match="hang_share"):
        knobs.updated({"hang_share": 1.5})
    with pytest.raises(ValidationError, match="no_such_knob"):
        knobs.updated({"no_such_knob": 1})
    with pytest.raises(ValidationError, match="add up"):
        knobs.updated({"hang_share": 0.6, "server_error_share": 0.6})


def test_settings_from_env_and_flags(monkeypatch):
    monkeypatch.setenv("SIMULATOR_SERVER_ERROR_SHARE", "0.25")
    monkeypatch.setenv("SIMULATOR_SYMBOLS", "AAPL, MSFT")
    settings = load_settings(["--port", "9999", "--trade-rate", "2500"])
    assert settings.port == 9999
    assert settings.symbols == ["AAPL", "MSFT"]
    knobs = settings.knobs()
    assert knobs.server_error_share == 0.25
    assert knobs.trade_rate == 2500


def test_bad_setting_exits_2_naming_the_variable(capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_settings(["--hang-share", "lots"])
    assert exit_info.value.code == 2
    assert "SIMULATOR_HANG_SHARE" in capsys.readouterr().err


def test_every_setting_has_a_flag():
    flags = {action.dest for action in build_parser()._actions}
    assert set(SimulatorSettings.model_fields) <= flags


def test_path_params_follow_settings():
    params = SimulatorSettings(tick_seconds=0.5, trading_day_seconds=600).path_params()
    assert params.ticks_per_day == 1200


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"type":"subscribe","symbol":"AAPL"}', ("subscribe", "AAPL")),
        ('{"type":"unsubscribe","symbol":"BRK.B"}', ("unsubscribe", "BRK.B")),
        ("not json", "Invalid message: not JSON"),
        ("[1]", "Invalid message: not a JSON object"),
        ('{"type":"hello","symbol":"AAPL"}', "Invalid message type: 'hello'"),
        ('{"type":"subscribe","symbol":"aapl lower"}', "Invalid symbol: 'aapl lower'"),
    ],
)
def test_client_messages(raw, expected):
    assert parse_client_message(raw) == expected
