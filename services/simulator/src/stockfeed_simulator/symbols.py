"""Which symbols the simulated market knows: a built-in universe of large US stocks, or any ticker."""

from __future__ import annotations

from collections.abc import Iterable

from stockfeed_contracts.lake import SYMBOL_PATTERN

ANY_SYMBOL = "*"

# Large US stocks (the kind of list the original project polled); enough for 60-symbol drills.
BUILTIN_SYMBOLS: tuple[str, ...] = (
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "GOOG", "META", "BRK.B", "TSLA", "AVGO",
    "LLY", "JPM", "V", "UNH", "XOM", "MA", "JNJ", "PG", "HD", "COST",
    "ABBV", "MRK", "ORCL", "CVX", "WMT", "BAC", "KO", "PEP", "CRM", "NFLX",
    "AMD", "ADBE", "TMO", "LIN", "MCD", "ACN", "CSCO", "ABT", "WFC", "DHR",
    "INTC", "DIS", "TXN", "PM", "VZ", "INTU", "CAT", "AMGN", "IBM", "QCOM",
    "NOW", "GE", "UNP", "SPGI", "AMAT", "HON", "BA", "GS", "NKE", "LOW",
    "RTX", "ISRG", "ELV", "PLD", "BKNG", "SBUX", "MDT", "DE", "BLK", "T",
    "AXP", "LMT", "SYK", "TJX", "GILD", "MDLZ", "ADI", "MMC", "CVS", "C",
    "ADP", "VRTX", "REGN", "CB", "SCHW", "MO", "ZTS", "PGR", "CI", "BSX",
    "SO", "LRCX", "TMUS", "DUK", "BDX", "ETN", "EQIX", "MU", "PANW", "UBER",
)  # fmt: skip


class SymbolUniverse:
    """`known(symbol)`: a listed symbol gets prices; anything else gets Finnhub's all-zero answer."""

    def __init__(self, symbols: Iterable[str] = ()) -> None:
        listed = tuple(symbols)
        self.any_symbol = ANY_SYMBOL in listed
        self.listed = frozenset(listed or BUILTIN_SYMBOLS) - {ANY_SYMBOL}

    def known(self, symbol: str) -> bool:
        if not SYMBOL_PATTERN.fullmatch(symbol):
            return False
        return self.any_symbol or symbol in self.listed
