"""Fault-injection knobs: set from env/flags at start, replaceable at runtime through the admin endpoint."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class KnobFields(BaseModel):
    """The knobs themselves (shared by the settings, which read them from SIMULATOR_* variables)."""

    rate_limit_per_minute: int = Field(60, ge=0, description="Calls per key per 60 s window; 0 = unlimited.")
    rate_limit_per_second: int = Field(30, ge=0, description="Calls per key per 1 s window; 0 = unlimited.")
    rate_limited_share: float = Field(0.0, ge=0, le=1, description="Share of calls answered 429 regardless.")
    rate_limited_reset_seconds: float = Field(1.0, ge=0, description="X-Ratelimit-Reset distance of injected 429s.")
    server_error_share: float = Field(0.0, ge=0, le=1, description="Share of calls answered 500/502/503.")
    hang_share: float = Field(0.0, ge=0, le=1, description="Share of calls that hang, then are dropped unanswered.")
    hang_seconds: float = Field(60.0, ge=0, description="How long a hung call hangs.")
    malformed_share: float = Field(0.0, ge=0, le=1, description="Share of calls answered 200 with broken JSON.")
    future_t_share: float = Field(
        0.0, ge=0, le=1, description="Share of quote answers whose t is in milliseconds: far ahead of the clock."
    )
    latency_ms: float = Field(0.0, ge=0, description="Added to every REST answer.")
    ws_drop_every_seconds: float = Field(0.0, ge=0, description="Drop each WebSocket after this long; 0 = never.")
    ws_drop_after_messages: int = Field(0, ge=0, description="Drop each WebSocket after N messages; 0 = never.")
    ws_max_symbols: int = Field(50, ge=1, description="Subscriptions per connection (Finnhub free plan: 50).")
    trade_rate: float = Field(5.0, ge=0, description="Trades per second per WebSocket connection.")
    ping_seconds: float = Field(10.0, gt=0, description="Interval of {'type':'ping'} messages.")
    market_open: bool = Field(True, description="Closed: prices and t stand still, WebSockets only get pings.")

    @model_validator(mode="after")
    def _shares_fit_in_one(self) -> Self:
        total = self.rate_limited_share + self.server_error_share + self.hang_share + self.malformed_share
        total += self.future_t_share
        if total > 1.0 + 1e-9:
            raise ValueError(f"the fault shares add up to {total:.3f}; at most 1 is possible")
        return self


class FaultKnobs(KnobFields):
    """An immutable snapshot; the server swaps the whole object, so readers never see half an update."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def updated(self, changes: dict[str, Any]) -> FaultKnobs:
        """A validated copy with `changes` applied (raises pydantic.ValidationError naming the bad knob)."""
        return FaultKnobs.model_validate({**self.model_dump(), **changes})
