"""Simulator settings: SIMULATOR_* environment variables, overridden by command-line flags."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stockfeed_simulator.faults import FaultKnobs, KnobFields
from stockfeed_simulator.prices import PathParams

ENV_PREFIX = "SIMULATOR_"


def split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class SimulatorSettings(BaseSettings, KnobFields):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    host: str = Field("127.0.0.1", description="Address of the Finnhub-compatible REST + WebSocket port.")
    port: int = Field(8080, ge=0, le=65535, description="Port for REST and WebSocket; 0 = any free port.")
    admin_host: str = Field("127.0.0.1", description="Address of the admin endpoint (knobs, stats).")
    admin_port: int = Field(8081, ge=-1, le=65535, description="Admin port; 0 = any free port, -1 = no admin.")
    seed: int = Field(42, description="Same seed, same price series.")
    symbols: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Known symbols, comma-separated; empty = built-in list; * = any."
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Accepted tokens, comma-separated; empty = any token (or none)."
    )
    tick_seconds: float = Field(1.0, gt=0, description="Price model step.")
    annual_volatility: float = Field(0.3, ge=0, description="GBM sigma, annualised.")
    annual_drift: float = Field(0.05, description="GBM mu, annualised.")
    change_probability: float = Field(0.8, ge=0, le=1, description="Share of ticks on which a price moves.")
    trading_day_seconds: float = Field(23_400.0, gt=0, description="Length of a simulated trading day.")
    log_level: str = Field("INFO", description="Python logging level.")

    _split = field_validator("symbols", "api_keys", mode="before")(split_commas)

    def knobs(self) -> FaultKnobs:
        return FaultKnobs.model_validate({name: getattr(self, name) for name in FaultKnobs.model_fields})

    def path_params(self) -> PathParams:
        return PathParams(
            tick_seconds=self.tick_seconds,
            annual_volatility=self.annual_volatility,
            annual_drift=self.annual_drift,
            change_probability=self.change_probability,
            ticks_per_day=max(1, round(self.trading_day_seconds / self.tick_seconds)),
        )
