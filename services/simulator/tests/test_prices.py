import itertools
import math
import random

import pytest

from stockfeed_simulator.prices import PathParams, PricePath, price_series, quote_of

pytestmark = pytest.mark.unit


def test_same_seed_same_series():
    assert price_series(7, "AAPL", 500) == price_series(7, "AAPL", 500)


def test_other_seed_or_symbol_gives_another_series():
    base = [state.price for state in price_series(7, "AAPL", 200)]
    assert [state.price for state in price_series(8, "AAPL", 200)] != base
    assert [state.price for state in price_series(7, "MSFT", 200)] != base


def test_lazy_advance_equals_step_by_step():
    jumped = PricePath(3, "NVDA", PathParams()).advance_to(1_000)
    assert jumped == price_series(3, "NVDA", 1_000)[-1]


def test_trading_day_is_coherent():
    for state in price_series(11, "TSLA", 3_000):
        quote = quote_of(state)
        assert quote.l <= quote.c <= quote.h
        assert quote.l <= quote.o <= quote.h
        assert quote.d == pytest.approx(quote.c - quote.pc, abs=1e-4)
        assert quote.dp == pytest.approx(100 * (quote.c - quote.pc) / quote.pc, abs=1e-4)
        assert quote.c == round(quote.c, 2)


def test_quote_time_moves_only_when_the_price_changes():
    series = price_series(5, "AMD", 2_000)
    moved = 0
    for before, after in itertools.pairwise(series):
        if after.price != before.price:
            moved += 1
            assert after.last_change_tick == after.tick
        else:
            assert after.last_change_tick == before.last_change_tick
    assert moved > 100  # the walk does walk


def test_frozen_prices_never_move():
    series = price_series(5, "AMD", 500, PathParams(change_probability=0.0))
    assert {state.price for state in series} == {series[0].price}
    assert {state.last_change_tick for state in series} == {0}


def test_new_day_rolls_close_into_previous_close_and_resets_range():
    params = PathParams(ticks_per_day=100)
    series = price_series(9, "IBM", 250, params)
    day_one_last, day_two_first = series[99], series[100]
    assert day_two_first.previous_close == day_one_last.price
    assert day_two_first.open == day_two_first.price == day_two_first.high == day_two_first.low
    assert day_two_first.last_change_tick == 100


def test_volatility_is_roughly_what_was_asked():
    params = PathParams(annual_volatility=0.3, change_probability=1.0, ticks_per_day=10**9)
    series = price_series(1, "SPY", 20_000, params)
    returns = [b.log_price - a.log_price for a, b in itertools.pairwise(series)]
    mean = sum(returns) / len(returns)
    per_tick = math.sqrt(sum((r - mean) ** 2 for r in returns) / len(returns))
    expected = 0.3 * math.sqrt(params.tick_seconds / (252 * 6.5 * 3600))
    assert per_tick == pytest.approx(expected, rel=0.05)


def test_start_prices_stay_in_range():
    params = PathParams()
    for index in range(200):
        state = PricePath(index, "X", params).state
        assert params.min_start_price * 0.99 <= state.previous_close <= params.max_start_price * 1.01
        assert state.open > 0
    assert random.Random("stockfeed:1:X").random() == random.Random("stockfeed:1:X").random()
