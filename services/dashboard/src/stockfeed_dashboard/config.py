"""Settings from DASHBOARD_* variables; the Snowflake password also from a mounted file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DashboardSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DASHBOARD_", extra="ignore", frozen=True)

    warehouse: Literal["auto", "duckdb", "snowflake"] = "auto"  # auto: Snowflake when an account is set
    duckdb_path: Path = Path("stocks_mds.duckdb")
    schema_name: str = "COMMON"  # where dbt builds the gold tables
    refresh_seconds: int = 30
    snowflake_account: str | None = None
    snowflake_user: str | None = None
    snowflake_password: SecretStr | None = None
    snowflake_password_file: Path | None = None
    snowflake_role: str | None = None
    snowflake_warehouse: str | None = None
    snowflake_database: str = "STOCKS_MDS"

    @property
    def uses_snowflake(self) -> bool:
        return self.warehouse == "snowflake" or (self.warehouse == "auto" and bool(self.snowflake_account))

    def snowflake_secret(self) -> str | None:
        if self.snowflake_password is not None:
            return self.snowflake_password.get_secret_value()
        if self.snowflake_password_file is not None:
            return self.snowflake_password_file.read_text().strip()
        return None
