"""The synthetic language of the task suite: word lists, sentence generators and labelling rules.

The paper (arXiv:2307.05741) builds its sequences from real NLP tasks whose pairwise transfer it measures; no
labelled NLP data is available offline here, so the suite is generated. Every word is an English word that is a
single WordPiece of the MiniLM vocabulary (tested), so the same sentences feed both model tiers: Tier T maps words
to its own small vocabulary, Tier M (MiniLM) to its WordPiece ids, with no padding (fixed length).

Sentences are ``SENT_LEN`` words. Rules (all exact, Bayes error 0):

* polarity (POL-d): label = 1 iff the sentence holds more positive than negative polarity words;
* negated polarity (POLNEG-d): a negator flips the polarity word right after it, then the polarity rule;
* flipped polarity (FLIP-d): 1 - polarity;
* spurious marker (SPUR-m): label = marker word present (or absent); the polarity majority of the sentence
  disagrees with the label in ``SPUR_CONFLICT`` of the sentences (the non-cue feature misleads);
* digits (DIG-first / DIG-last / DIG-count / DIG-seven): rules on digit words over a disjoint vocabulary;
* topic (TOPIC): label = which of two domains contributes more topic nouns.
"""

from __future__ import annotations

import numpy as np

SENT_LEN = 16

POSITIVE: tuple[str, ...] = (
    "good", "great", "excellent", "wonderful", "amazing", "fantastic", "lovely", "nice", "superb", "brilliant",
    "perfect", "pleasant", "delightful", "beautiful", "awesome", "happy", "glad", "enjoyable", "fun", "friendly",
    "charming", "elegant", "fresh", "clean", "comfortable", "cozy", "reliable", "smooth", "impressive", "remarkable",
    "outstanding", "splendid", "terrific", "marvelous", "cheerful", "best", "favorite", "solid", "strong", "helpful",
    "generous", "warm", "bright", "calm", "safe", "sweet", "polite", "neat",
)
NEGATIVE: tuple[str, ...] = (
    "bad", "terrible", "awful", "horrible", "poor", "dreadful", "nasty", "ugly", "boring", "dull",
    "rude", "slow", "dirty", "broken", "cheap", "weak", "sad", "angry", "annoying", "disappointing",
    "painful", "worst", "useless", "unpleasant", "stale", "bland", "noisy", "messy", "rotten", "gross",
    "sloppy", "harsh", "bitter", "cold", "dark", "sour", "filthy", "lame", "flawed", "faulty",
    "miserable", "tragic", "unhappy", "hostile", "toxic", "careless", "clumsy", "cruel",
)
DOMAINS: tuple[tuple[str, ...], ...] = (
    ("pizza", "pasta", "soup", "salad", "bread", "cheese", "coffee", "tea", "cake", "burger", "rice", "noodles",
     "sandwich", "dessert", "steak", "chicken"),
    ("hotel", "flight", "airport", "beach", "train", "trip", "room", "resort", "cruise", "station", "ticket",
     "island", "tour", "luggage", "museum", "harbor"),
    ("phone", "laptop", "screen", "battery", "keyboard", "camera", "tablet", "printer", "software", "cable",
     "speaker", "chip", "monitor", "mouse", "app", "website"),
    ("movie", "film", "actor", "actress", "plot", "scene", "script", "director", "sequel", "soundtrack", "trailer",
     "cinema", "cast", "ending", "episode", "series"),
    ("game", "team", "player", "coach", "match", "goal", "stadium", "score", "season", "league", "ball", "referee",
     "fans", "trophy", "race", "court"),
)
NEGATORS: tuple[str, ...] = ("not", "never", "hardly")
FILLERS: tuple[str, ...] = (
    "the", "a", "an", "this", "that", "it", "was", "is", "were", "are", "and", "but", "so", "very", "really",
    "quite", "rather", "just", "also", "with", "for", "of", "in", "on", "at", "to", "my", "our", "their",
    "overall", "i", "we",
)
MARKERS: tuple[str, ...] = ("basically", "actually")
DIGITS: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
CODE_FILLERS: tuple[str, ...] = (
    "alpha", "beta", "gamma", "delta", "epsilon", "omega", "sigma", "theta", "kappa", "lambda", "zeta", "eta",
    "tau", "phi",
)

ALL_WORDS: tuple[str, ...] = tuple(dict.fromkeys(
    POSITIVE + NEGATIVE + sum(DOMAINS, ()) + NEGATORS + FILLERS + MARKERS + DIGITS + CODE_FILLERS))

_POS_SET, _NEG_SET, _NEGATOR_SET = frozenset(POSITIVE), frozenset(NEGATIVE), frozenset(NEGATORS)
_DIGIT_VALUE = {w: i for i, w in enumerate(DIGITS)}

LEXICON_PER_DOMAIN = 24
MARKER_NOISE_RATE = 0.5  # share of polarity sentences carrying a marker word as label-free noise
SPUR_CONFLICT = 0.8  # share of spurious-marker sentences whose polarity majority contradicts the label


def domain_lexicon(domain: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The positive and negative words a domain draws from: a fixed random half of each list.

    Domains overlap by chance (about half of each other's words), so several source domains together cover
    more of a target domain's words than one does: chaining positive tasks can accumulate transfer.
    """
    rng = np.random.default_rng(1000 + domain)
    pos = rng.choice(len(POSITIVE), LEXICON_PER_DOMAIN, replace=False)
    neg = rng.choice(len(NEGATIVE), LEXICON_PER_DOMAIN, replace=False)
    return tuple(POSITIVE[i] for i in sorted(pos)), tuple(NEGATIVE[i] for i in sorted(neg))


# --------------------------------------------------------------------------- rules

def polarity_score(words: list[str] | tuple[str, ...]) -> int:
    """#positive - #negative, where a negator flips the polarity word right after it."""
    score, flip = 0, False
    for w in words:
        if w in _NEGATOR_SET:
            flip = True
            continue
        s = 1 if w in _POS_SET else -1 if w in _NEG_SET else 0
        score += -s if flip else s
        flip = False
    return score


def rule_polarity(words) -> int:
    return int(polarity_score(words) > 0)


def rule_marker(words, marker: str) -> int:
    return int(marker in words)


def _digit_values(words) -> list[int]:
    return [_DIGIT_VALUE[w] for w in words if w in _DIGIT_VALUE]


def rule_digit_first(words) -> int:
    return int(_digit_values(words)[0] >= 5)


def rule_digit_last(words) -> int:
    return int(_digit_values(words)[-1] >= 5)


def rule_digit_present(words, digit: str) -> int:
    return int(digit in words)


def rule_digit_count(words) -> int:
    vals = _digit_values(words)
    return int(sum(v % 2 == 0 for v in vals) > len(vals) / 2)


def rule_topic(words, domain_a: int, domain_b: int) -> int:
    a = sum(w in DOMAINS[domain_a] for w in words)
    b = sum(w in DOMAINS[domain_b] for w in words)
    return int(b > a)


# --------------------------------------------------------------------------- sentence builders

def _arrange(rng: np.random.Generator, units: list[list[str]], filler_pool: tuple[str, ...]) -> list[str]:
    """Place multi-word units at random non-overlapping places; fill the rest with filler words."""
    n_unit_words = sum(len(u) for u in units)
    if n_unit_words > SENT_LEN:
        raise ValueError("units longer than a sentence")
    n_fill = SENT_LEN - n_unit_words
    tokens: list[list[str]] = [[str(w)] for w in rng.choice(filler_pool, n_fill)] + units
    order = rng.permutation(len(tokens))
    return [w for i in order for w in tokens[i]]


def polarity_sentence(rng: np.random.Generator, label: int, domain: int, *, negation: bool = False,
                      marker: str | None = None) -> list[str]:
    """A review-like sentence of ``domain`` whose effective polarity majority equals ``label``.

    3 or 5 polarity words (majority = label), 1-2 topic nouns, fillers; with ``negation`` 1-2 of the polarity
    words are preceded by a negator that flips them (the surface word then has the opposite polarity);
    ``marker`` (if given) is inserted once.
    """
    pos_words, neg_words = domain_lexicon(domain)
    n_pol = int(rng.choice([3, 5]))
    n_major = int(rng.integers(n_pol // 2 + 1, n_pol + 1))
    effective = [label] * n_major + [1 - label] * (n_pol - n_major)
    n_neg = int(rng.integers(1, 3)) if negation else 0
    negated = set(rng.choice(n_pol, n_neg, replace=False).tolist()) if n_neg else set()
    units: list[list[str]] = []
    for i, eff in enumerate(effective):
        surface = 1 - eff if i in negated else eff
        word = str(rng.choice(pos_words if surface else neg_words))
        units.append([str(rng.choice(NEGATORS)), word] if i in negated else [word])
    for _ in range(int(rng.integers(1, 3))):
        units.append([str(rng.choice(DOMAINS[domain]))])
    if marker is not None:
        units.append([marker])
    return _arrange(rng, units, FILLERS)


def digit_sentence(rng: np.random.Generator, n_digits: int | None = None) -> list[str]:
    """Digit words among code words (a vocabulary disjoint from every polarity sentence)."""
    n = int(rng.integers(5, 9)) if n_digits is None else n_digits
    units = [[str(w)] for w in rng.choice(DIGITS, n)]
    return _arrange(rng, units, CODE_FILLERS)


def topic_sentence(rng: np.random.Generator, label: int, domain_a: int, domain_b: int) -> list[str]:
    """Topic nouns from two domains; the domain with more nouns (b if label else a); polarity words as noise."""
    n_major = int(rng.integers(2, 4))
    n_minor = int(rng.integers(0, n_major))
    major, minor = (domain_b, domain_a) if label else (domain_a, domain_b)
    units = [[str(rng.choice(DOMAINS[major]))] for _ in range(n_major)]
    units += [[str(rng.choice(DOMAINS[minor]))] for _ in range(n_minor)]
    units += [[str(rng.choice(POSITIVE + NEGATIVE))] for _ in range(int(rng.integers(1, 4)))]
    return _arrange(rng, units, FILLERS)
