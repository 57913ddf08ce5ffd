"""A small lexicon-based polarity score for company reviews, in [-1, 1] (the original used TextBlob).

How a review is scored:
- Words are lower-cased runs of letters (apostrophes kept: "isn't"); each word found in `LEXICON` has a weight
  in [-1, 1] (e.g. "excellent" 1.0, "good" 0.6, "poor" -0.6, "terrible" -1.0).
- An intensifier right before a sentiment word scales it (`INTENSIFIERS`: "very" 1.3, "slightly" 0.5, ...).
- A negation ("not", "never", "no", any "...n't") within the three words before a sentiment word flips it and
  halves it ("not good" = -0.3): negated praise is mild criticism, not its opposite.
- The score is the mean of the scored words, clamped to [-1, 1]; 0.0 when no word is in the lexicon.
It is a seed lexicon, not a trained model: extend `LEXICON` for a domain's own words.
"""

from __future__ import annotations

import re

LEXICON: dict[str, float] = {
    # positive
    "excellent": 1.0, "outstanding": 1.0, "amazing": 0.9, "great": 0.8, "fantastic": 0.9, "awesome": 0.9,
    "best": 1.0, "love": 0.8, "loved": 0.8, "good": 0.6, "nice": 0.5, "positive": 0.5, "strong": 0.5,
    "supportive": 0.6, "helpful": 0.5, "friendly": 0.5, "fair": 0.3, "flexible": 0.5, "innovative": 0.6,
    "rewarding": 0.7, "happy": 0.7, "enjoy": 0.6, "enjoyed": 0.6, "stable": 0.4, "growth": 0.4,
    "competitive": 0.3, "generous": 0.6, "recommend": 0.6, "talented": 0.6, "smart": 0.5, "solid": 0.5,
    "benefits": 0.3, "inspiring": 0.7, "collaborative": 0.5, "satisfied": 0.5, "well": 0.3, "better": 0.4,
    # negative
    "terrible": -1.0, "awful": -1.0, "worst": -1.0, "horrible": -1.0, "toxic": -0.9, "bad": -0.7,
    "poor": -0.6, "hate": -0.8, "negative": -0.5, "weak": -0.5, "slow": -0.3, "stressful": -0.6,
    "stress": -0.5, "overworked": -0.7, "underpaid": -0.7, "micromanagement": -0.6, "bureaucratic": -0.5,
    "bureaucracy": -0.5, "layoffs": -0.7, "unstable": -0.5, "boring": -0.5, "disappointing": -0.7,
    "disappointed": -0.7, "unfair": -0.6, "chaotic": -0.6, "politics": -0.4, "long": -0.2, "worse": -0.5,
    "difficult": -0.4, "hard": -0.2, "lack": -0.4, "lacking": -0.4, "low": -0.3, "burnout": -0.8,
}  # fmt: skip

INTENSIFIERS: dict[str, float] = {
    "very": 1.3, "really": 1.3, "extremely": 1.6, "incredibly": 1.6, "super": 1.4, "so": 1.2, "quite": 1.1,
    "highly": 1.4, "somewhat": 0.7, "slightly": 0.5, "fairly": 0.8, "bit": 0.6,
}  # fmt: skip

NEGATIONS = frozenset({"not", "no", "never", "nothing", "neither", "nor", "hardly", "without"})
NEGATION_WINDOW = 3
NEGATED_SCALE = -0.5

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def _is_negation(word: str) -> bool:
    return word in NEGATIONS or word.endswith("n't")


def polarity(text: str | None) -> float:
    """The review's polarity in [-1, 1]: mean weight of its sentiment words, after intensifiers and negation."""
    if not text:
        return 0.0
    tokens = words(text)
    scores: list[float] = []
    for index, word in enumerate(tokens):
        weight = LEXICON.get(word)
        if weight is None:
            continue
        if index > 0 and tokens[index - 1] in INTENSIFIERS:
            weight *= INTENSIFIERS[tokens[index - 1]]
        if any(_is_negation(before) for before in tokens[max(0, index - NEGATION_WINDOW) : index]):
            weight *= NEGATED_SCALE
        scores.append(weight)
    if not scores:
        return 0.0
    return round(max(-1.0, min(1.0, sum(scores) / len(scores))), 4)
