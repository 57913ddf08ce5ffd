"""The original project's reference data, from user-supplied CSV files, as typed rows (no I/O here).

`company_stocks.csv`: symbol, company_name, sector, p_e_ratio (header names are matched case-insensitively,
spaces and punctuation read as "_": "P/E Ratio" is p_e_ratio; other columns are ignored).
`company_reviews.csv`: symbol, company_name (optional), review written as "4.2/5 - text"; the rating and the
text are split apart and the text gets a polarity score (stockfeed_loader.sentiment).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from stockfeed_loader.errors import SourceError
from stockfeed_loader.sentiment import polarity

_HEADER_JUNK = re.compile(r"[^a-z0-9]+")
_REVIEW = re.compile(r"^\s*(?P<rating>\d+(?:\.\d+)?)\s*/\s*5\s*(?:[-\u2013\u2014:|]\s*)?(?P<text>.*)$", re.DOTALL)


@dataclass(frozen=True)
class CompanyStock:
    symbol: str
    company_name: str | None
    sector: str | None
    p_e_ratio: float | None


@dataclass(frozen=True)
class CompanyReview:
    symbol: str
    company_name: str | None
    review_raw: str
    rating: float | None
    review: str
    sentiment_score: float


def header_name(name: str) -> str:
    return _HEADER_JUNK.sub("_", name.strip().lower()).strip("_")


def _records(text: str, required: tuple[str, ...], file_name: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None:
        raise SourceError(f"{file_name}: empty file, no header")
    names = {field: header_name(field) for field in reader.fieldnames}
    missing = [column for column in required if column not in names.values()]
    if missing:
        raise SourceError(f"{file_name}: missing column(s) {', '.join(missing)} (has {', '.join(reader.fieldnames)})")
    return [{names[k]: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]


def _text(value: str | None) -> str | None:
    return value or None


def _number(value: str | None, column: str, line: int, file_name: str) -> float | None:
    if not value or value.upper() in {"NA", "N/A", "NAN", "NULL", "-"}:
        return None
    try:
        return float(value.replace(",", ""))
    except ValueError:
        raise SourceError(f"{file_name} line {line}: {column} {value!r} is not a number") from None


def parse_company_stocks(text: str, file_name: str = "company_stocks.csv") -> list[CompanyStock]:
    """One row per symbol (upper-cased); a symbol listed twice keeps its last row. Blank symbols are skipped."""
    rows: dict[str, CompanyStock] = {}
    for line, record in enumerate(_records(text, ("symbol",), file_name), start=2):
        symbol = record["symbol"].upper()
        if not symbol:
            continue
        rows[symbol] = CompanyStock(
            symbol=symbol,
            company_name=_text(record.get("company_name")),
            sector=_text(record.get("sector")),
            p_e_ratio=_number(record.get("p_e_ratio") or record.get("pe_ratio"), "p_e_ratio", line, file_name),
        )
    return list(rows.values())


def split_review(review: str) -> tuple[float | None, str]:
    """'4.2/5 - Great place' -> (4.2, 'Great place'); a review without a leading 'N/5' keeps its whole text."""
    match = _REVIEW.match(review)
    if match is None:
        return None, review.strip()
    rating = float(match["rating"])
    return (rating if 0 <= rating <= 5 else None), match["text"].strip()


def parse_company_reviews(text: str, file_name: str = "company_reviews.csv") -> list[CompanyReview]:
    """One row per non-empty review, in file order."""
    reviews: list[CompanyReview] = []
    for record in _records(text, ("symbol", "review"), file_name):
        symbol, raw = record["symbol"].upper(), record["review"]
        if not symbol or not raw:
            continue
        rating, review = split_review(raw)
        reviews.append(CompanyReview(symbol, _text(record.get("company_name")), raw, rating, review, polarity(review)))
    return reviews
