"""Offline image-text data with per-pixel ground truth: ShapeScenes and DigitScenes.

Both are generated from a seed (nothing is downloaded; DigitScenes uses the 8x8 handwritten digits that
ship inside scikit-learn) and cached as ``.npz``. Each scene stores its image, an instance map (0 =
background, k+1 = object k) and per-object attributes, so captions, zero-shot labels, segmentation masks
and pointing-game targets all derive from the same ground truth.

Captions vary in structure (random filler prefix/suffix, random object order, several phrase templates
with attributes in different positions, random connectors) so that a token's position does not predict
its role: with fixed templates a pilot's in-caption loss was solved by position alone (see the issue).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------- vocabulary of the scenes

COLOURS: tuple[str, ...] = ("red", "green", "blue", "yellow", "purple", "orange", "white")
COLOUR_RGB = np.array([(220, 40, 40), (40, 190, 60), (50, 90, 235), (230, 220, 50), (150, 60, 205),
                       (245, 140, 30), (235, 235, 235)], dtype=np.float32)
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "cross", "ring")
SIZES: tuple[str, ...] = ("small", "large")
DIGITS: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# Held-out colour x shape compositions (never in ShapeScenes training images): colour i with shape 2i mod 5,
# so every colour and every shape is still seen in training with other partners (paper-style zero-shot).
HELD_OUT_PAIRS: frozenset[tuple[int, int]] = frozenset((c, (2 * c) % len(SHAPES)) for c in range(len(COLOURS)))

# Token roles (for the pointing game and the faithfulness metrics)
ROLE_FILLER, ROLE_COLOUR, ROLE_CATEGORY, ROLE_SIZE = 0, 1, 2, 3

# Object phrase templates: {C} colour, {S} shape or digit name, {Z} size. Attributes appear in different
# orders and positions; some templates drop an attribute. Weights favour fully specified phrases.
SHAPE_TEMPLATES: tuple[tuple[str, float], ...] = (
    ("a {Z} {C} {S}", 3.0), ("a {C} {S}", 3.0), ("a {Z} {S} in {C}", 2.0), ("a {S} that is {C}", 2.0),
    ("a single {Z} {C} {S}", 1.0), ("the {C} {S}", 1.0), ("a {Z} {S}", 0.5), ("a {S}", 0.25),
)
DIGIT_TEMPLATES: tuple[tuple[str, float], ...] = (
    ("a {C} {S}", 3.0), ("the digit {S} in {C}", 2.0), ("a {S} written in {C}", 2.0), ("a {C} number {S}", 1.5),
    ("the {C} {S}", 1.0), ("a {S}", 0.5), ("the digit {S}", 0.25),
)
PREFIXES: tuple[tuple[str, float], ...] = (
    ("", 3.0), ("there is", 1.0), ("we see", 1.0), ("this image shows", 1.0), ("in this picture", 1.0),
    ("here is", 1.0), ("look at", 1.0), ("you can see", 1.0), ("a photo of", 1.0),
)
CONNECTORS: tuple[tuple[str, float], ...] = (
    ("and", 3.0), (",", 1.5), ("with", 1.0), ("next to", 1.0), ("and also", 1.0), ("plus", 1.0), ("beside", 1.0),
)
SUFFIXES: tuple[tuple[str, float], ...] = (
    ("", 4.0), ("on a dark background", 1.0), ("in the scene", 1.0), ("here", 1.0), ("on black", 1.0),
    ("in the picture", 1.0),
)
PLAIN_PROMPT = {"shapes": "a {C} {S}", "digits": "a {S}"}  # zero-shot prompt without ensembling


def _all_words() -> list[str]:
    words: set[str] = set(COLOURS) | set(SHAPES) | set(SIZES) | set(DIGITS)
    for table in (SHAPE_TEMPLATES, DIGIT_TEMPLATES, PREFIXES, CONNECTORS, SUFFIXES):
        for text, _ in table:
            words |= {w for w in text.split() if not w.startswith("{")}
    return sorted(words)


PAD, UNK = "<pad>", "<unk>"
VOCAB: tuple[str, ...] = (PAD, UNK, *_all_words())
WORD_TO_ID: dict[str, int] = {w: i for i, w in enumerate(VOCAB)}
ATTRIBUTE_WORDS: frozenset[str] = frozenset(COLOURS) | frozenset(SHAPES) | frozenset(SIZES) | frozenset(DIGITS)


def _max_words(table: Sequence[tuple[str, float]]) -> int:
    return max(len(t.split()) for t, _ in table)


def max_caption_length(kind: str, max_objects: int) -> int:
    """Longest caption (in words) the generator can produce for ``max_objects`` objects."""
    templates = SHAPE_TEMPLATES if kind == "shapes" else DIGIT_TEMPLATES
    return (_max_words(PREFIXES) + max_objects * _max_words(templates)
            + (max_objects - 1) * _max_words(CONNECTORS) + _max_words(SUFFIXES))


# --------------------------------------------------------------------------- scenes

@dataclasses.dataclass
class Scenes:
    """A set of scenes. ``attrs[n, k] = (colour, category, size)``, -1 where object k is absent.

    category is a shape id (ShapeScenes) or a digit 0-9 (DigitScenes, whose size is -1);
    ``instances[n, k]`` is the sklearn digit index (-1 for shapes) to prove the split by instance.
    """

    kind: str
    images: np.ndarray  # (N, S, S, 3) uint8
    instance_map: np.ndarray  # (N, S, S) uint8, 0 = background, k+1 = object k
    attrs: np.ndarray  # (N, K, 3) int8
    instances: np.ndarray  # (N, K) int16

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def n_objects(self) -> np.ndarray:
        return (self.attrs[:, :, 0] >= 0).sum(axis=1)

    def attribute_map(self, which: str) -> np.ndarray:
        """Per-pixel class map of one attribute ("colour" or "category"), -1 on background: (N, S, S)."""
        col = {"colour": 0, "category": 1}[which]
        table = np.concatenate([np.full((len(self), 1), -1, np.int16), self.attrs[:, :, col].astype(np.int16)], 1)
        return np.take_along_axis(table, self.instance_map.reshape(len(self), -1).astype(np.int64), 1
                                  ).reshape(self.instance_map.shape)

    def subset(self, idx: np.ndarray) -> Scenes:
        return Scenes(self.kind, self.images[idx], self.instance_map[idx], self.attrs[idx], self.instances[idx])


def _shape_mask(shape: int, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float) -> np.ndarray:
    dy, dx = yy - cy, xx - cx
    if shape == 0:  # circle
        return dy ** 2 + dx ** 2 <= r ** 2
    if shape == 1:  # square
        return np.maximum(np.abs(dy), np.abs(dx)) <= 0.8 * r
    if shape == 2:  # triangle, apex up
        return (dy >= -r) & (dy <= 0.8 * r) & (np.abs(dx) <= (dy + r) / 1.8)
    if shape == 3:  # cross
        arm = 0.34 * r
        return ((np.abs(dx) <= arm) & (np.abs(dy) <= r)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= r))
    if shape == 4:  # ring
        d2 = dy ** 2 + dx ** 2
        return (d2 <= r ** 2) & (d2 >= (0.5 * r) ** 2)
    raise ValueError(f"unknown shape id {shape}")


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    base = rng.uniform(10, 40)
    yy, xx = np.mgrid[0:size, 0:size] / size
    grad = rng.uniform(-12, 12) * yy + rng.uniform(-12, 12) * xx
    img = base + grad[..., None] + rng.normal(0, 6, (size, size, 3))
    return img.astype(np.float32)


def _free(occupied: np.ndarray, mask: np.ndarray) -> bool:
    return not (occupied & mask).any()


def _dilate(mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def _sample_pair(rng: np.random.Generator, allow_held_out: bool) -> tuple[int, int]:
    while True:
        c, s = int(rng.integers(len(COLOURS))), int(rng.integers(len(SHAPES)))
        if allow_held_out or (c, s) not in HELD_OUT_PAIRS:
            return c, s


def make_shape_scenes(n: int, image_size: int, seed: int, min_objects: int = 1, max_objects: int = 3,
                      allow_held_out: bool = False, pairs: Sequence[tuple[int, int, int]] | None = None) -> Scenes:
    """ShapeScenes: 1-3 non-overlapping coloured shapes on a noisy dark canvas.

    ``allow_held_out=False`` excludes :data:`HELD_OUT_PAIRS` (training). ``pairs`` (colour, shape, size)
    forces one object per scene (the single-object zero-shot test set).
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:image_size, 0:image_size].astype(np.float32)
    radius = {0: 0.12 * image_size, 1: 0.2 * image_size}
    images = np.zeros((n, image_size, image_size, 3), np.uint8)
    inst = np.zeros((n, image_size, image_size), np.uint8)
    attrs = np.full((n, max_objects, 3), -1, np.int8)
    for i in range(n):
        img = _background(rng, image_size)
        occupied = np.zeros((image_size, image_size), bool)
        if pairs is not None:
            c, s, z = pairs[i % len(pairs)]
            wanted = [(c, s, z)]
        else:
            k = int(rng.integers(min_objects, max_objects + 1))
            wanted = [(*_sample_pair(rng, allow_held_out), int(rng.integers(2))) for _ in range(k)]
        placed = 0
        for c, s, z in wanted:
            r = radius[z]
            for _ in range(50):
                cy, cx = rng.uniform(r + 0.5, image_size - r - 1.5, size=2)
                mask = _shape_mask(s, yy, xx, cy, cx, r)
                if mask.sum() >= 4 and _free(occupied, _dilate(mask)):
                    break
            else:
                continue  # no room: the scene gets fewer objects (its caption follows the placed ones)
            rgb = COLOUR_RGB[c] + rng.uniform(-15, 15, 3)
            img[mask] = rgb + rng.normal(0, 8, (int(mask.sum()), 3))
            occupied |= mask
            inst[i][mask] = placed + 1
            attrs[i, placed] = (c, s, z)
            placed += 1
        images[i] = np.clip(img, 0, 255).astype(np.uint8)
    return Scenes("shapes", images, inst, attrs, np.full((n, max_objects), -1, np.int16))


def digit_split(seed: int = 0, test_fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Split scikit-learn's 1797 digit images by instance (stratified by class, fixed seed)."""
    from sklearn.datasets import load_digits

    target = load_digits().target
    rng = np.random.default_rng(seed)
    train, test = [], []
    for d in range(10):
        idx = rng.permutation(np.flatnonzero(target == d))
        n_test = int(round(test_fraction * idx.size))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _digit_bank(digit_px: int) -> tuple[np.ndarray, np.ndarray]:
    """sklearn digits upsampled (bilinear) to ``digit_px`` pixels, intensities in [0, 1], and labels."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    digits = load_digits()
    imgs = digits.images.astype(np.float32) / 16.0
    up = np.stack([zoom(im, digit_px / 8.0, order=1) for im in imgs])
    return np.clip(up, 0.0, 1.0), digits.target.astype(np.int64)


def make_digit_scenes(n: int, image_size: int, seed: int, digit_px: int = 16, min_objects: int = 1,
                      max_objects: int = 3, split: str = "train", single: bool = False,
                      mask_threshold: float = 0.3) -> Scenes:
    """DigitScenes: 1-4 colourised scikit-learn digits on a noisy dark canvas, split by digit instance.

    The object mask is the upsampled intensity > ``mask_threshold``; its colour is blended by intensity.
    ``single=True`` makes one-digit scenes (the 10-way zero-shot test set).
    """
    if split not in ("train", "test"):
        raise ValueError(f"invalid value for 'split': {split!r} (allowed: train, test)")
    bank, labels = _digit_bank(digit_px)
    pool = digit_split()[0 if split == "train" else 1]
    rng = np.random.default_rng(seed)
    images = np.zeros((n, image_size, image_size, 3), np.uint8)
    inst = np.zeros((n, image_size, image_size), np.uint8)
    attrs = np.full((n, max_objects, 3), -1, np.int8)
    instances = np.full((n, max_objects), -1, np.int16)
    for i in range(n):
        img = _background(rng, image_size)
        occupied = np.zeros((image_size, image_size), bool)
        k = 1 if single else int(rng.integers(min_objects, max_objects + 1))
        placed = 0
        for _ in range(k):
            j = int(rng.choice(pool))
            glyph = bank[j]
            for _ in range(50):
                y0, x0 = rng.integers(0, image_size - digit_px + 1, size=2)
                mask = np.zeros((image_size, image_size), bool)
                mask[y0:y0 + digit_px, x0:x0 + digit_px] = glyph > mask_threshold
                if mask.sum() >= 4 and _free(occupied, _dilate(mask)):
                    break
            else:
                continue
            c = int(rng.integers(len(COLOURS)))
            rgb = COLOUR_RGB[c] + rng.uniform(-15, 15, 3)
            alpha = np.zeros((image_size, image_size, 1), np.float32)
            alpha[y0:y0 + digit_px, x0:x0 + digit_px, 0] = glyph
            alpha[~mask] = np.minimum(alpha[~mask], 0.15)  # faint anti-aliasing outside the mask only
            alpha[occupied] = 0.0
            img = img * (1 - alpha) + alpha * (rgb + rng.normal(0, 8, img.shape)).astype(np.float32)
            occupied |= mask
            inst[i][mask] = placed + 1
            attrs[i, placed] = (c, labels[j], -1)
            instances[i, placed] = j
            placed += 1
        images[i] = np.clip(img, 0, 255).astype(np.uint8)
    return Scenes("digits", images, inst, attrs, instances)


def single_object_pairs() -> list[tuple[int, int, int]]:
    """Every (colour, shape, size) combination: the balanced single-object ShapeScenes test set."""
    return [(c, s, z) for c in range(len(COLOURS)) for s in range(len(SHAPES)) for z in range(len(SIZES))]


# --------------------------------------------------------------------------- cache

def cache_dir() -> Path:
    """``$SPARC_CACHE_DIR`` or ``~/.cache/repro-sparc``."""
    return Path(os.environ.get("SPARC_CACHE_DIR", Path.home() / ".cache" / "repro-sparc"))


def cached(builder, **kwargs) -> Scenes:
    """Build scenes with ``builder(**kwargs)`` once and reuse the ``.npz`` afterwards (keyed by the args)."""
    key = json.dumps({"builder": builder.__name__, "version": 1, **kwargs}, sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = cache_dir() / f"{builder.__name__}-{digest}.npz"
    if path.is_file():
        try:
            with np.load(path) as z:
                return Scenes(str(z["kind"]), z["images"], z["instance_map"], z["attrs"], z["instances"])
        except (OSError, ValueError, KeyError):
            pass  # a corrupt cache entry is rebuilt
    scenes = builder(**kwargs)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, kind=scenes.kind, images=scenes.images, instance_map=scenes.instance_map,
                            attrs=scenes.attrs, instances=scenes.instances)
        os.replace(tmp, path)
    except OSError:
        pass  # caching is an optimisation only
    return scenes


# --------------------------------------------------------------------------- captions

@dataclasses.dataclass
class Caption:
    """A caption as words plus, per word, the object it names (-1: filler) and its role."""

    words: list[str]
    objects: list[int]
    roles: list[int]

    @property
    def text(self) -> str:
        return " ".join(self.words)


def _pick(rng: np.random.Generator, table: Sequence[tuple[str, float]]) -> str:
    w = np.array([p for _, p in table])
    return table[int(rng.choice(len(table), p=w / w.sum()))][0]


def object_phrase(template: str, colour: int, category: int, size: int, kind: str, obj: int = 0
                  ) -> tuple[list[str], list[int], list[int]]:
    """Fill one phrase template; returns words, the object index per word and each word's role."""
    names = SHAPES if kind == "shapes" else DIGITS
    fill = {"{C}": (COLOURS[colour] if colour >= 0 else None, ROLE_COLOUR),
            "{S}": (names[category], ROLE_CATEGORY),
            "{Z}": (SIZES[size] if size >= 0 else None, ROLE_SIZE)}
    words, objs, roles = [], [], []
    for w in template.split():
        if w in fill:
            word, role = fill[w]
            if word is None:
                raise ValueError(f"template {template!r} needs {w} but the object has none")
            words.append(word)
            objs.append(obj)
            roles.append(role)
        else:
            words.append(w)
            objs.append(-1)
            roles.append(ROLE_FILLER)
    return words, objs, roles


def make_caption(attrs: np.ndarray, kind: str, rng: np.random.Generator) -> Caption:
    """A random caption for one scene's objects: filler prefix, objects in random order, each with a
    random phrase template, random connectors, filler suffix."""
    present = [k for k in range(attrs.shape[0]) if attrs[k, 0] >= 0]
    templates = SHAPE_TEMPLATES if kind == "shapes" else DIGIT_TEMPLATES
    words: list[str] = []
    objs: list[int] = []
    roles: list[int] = []

    def add_filler(text: str) -> None:
        for w in text.split():
            words.append(w)
            objs.append(-1)
            roles.append(ROLE_FILLER)

    add_filler(_pick(rng, PREFIXES))
    for n, k in enumerate(rng.permutation(present)):
        if n:
            add_filler(_pick(rng, CONNECTORS))
        c, s, z = (int(v) for v in attrs[k])
        w, o, r = object_phrase(_pick(rng, templates), c, s, z, kind, int(k))
        words += w
        objs += o
        roles += r
    add_filler(_pick(rng, SUFFIXES))
    return Caption(words, objs, roles)


def swap_colours(attrs: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """Attributes with the colours of two differently coloured objects swapped (the binding test), or None."""
    present = [k for k in range(attrs.shape[0]) if attrs[k, 0] >= 0]
    pairs = [(a, b) for i, a in enumerate(present) for b in present[i + 1:] if attrs[a, 0] != attrs[b, 0]]
    if not pairs:
        return None
    a, b = pairs[int(rng.integers(len(pairs)))]
    out = attrs.copy()
    out[a, 0], out[b, 0] = attrs[b, 0], attrs[a, 0]
    return out


@dataclasses.dataclass
class TokenBatch:
    """Word-level token ids (B, L), mask (B, L) bool, object index (B, L) (-1 filler/pad), role (B, L)."""

    ids: np.ndarray
    mask: np.ndarray
    objects: np.ndarray
    roles: np.ndarray


def tokenize(captions: Sequence[Caption], max_len: int) -> TokenBatch:
    """Word-level tokenisation against :data:`VOCAB`, right-padded to ``max_len``."""
    n = len(captions)
    ids = np.zeros((n, max_len), np.int64)
    objs = np.full((n, max_len), -1, np.int64)
    roles = np.full((n, max_len), -1, np.int64)
    for i, cap in enumerate(captions):
        if len(cap.words) > max_len:
            raise ValueError(f"caption of {len(cap.words)} words exceeds max_len={max_len}: {cap.text!r}")
        k = len(cap.words)
        ids[i, :k] = [WORD_TO_ID.get(w, 1) for w in cap.words]
        objs[i, :k] = cap.objects
        roles[i, :k] = cap.roles
    return TokenBatch(ids, ids != 0, objs, roles)


def prompts_for(kind: str, attribute: str, value: int, ensemble: bool = True) -> list[Caption]:
    """Zero-shot prompts naming one attribute value, for classification / segmentation prototypes.

    ``attribute`` is "pair" (value = colour * n_categories + category: the 35-way shape task), "category"
    (shape or digit; the 10-way digit task) or "colour". With ``ensemble`` the prompts are every phrase
    template that names the attribute, filled with every value of the attributes not being classified
    (paper Table 2 "prompt ensembling"); without it, the single plain prompt (paper Table 1).
    """
    names = SHAPES if kind == "shapes" else DIGITS
    templates = [t for t, _ in (SHAPE_TEMPLATES if kind == "shapes" else DIGIT_TEMPLATES)]
    if attribute == "pair":
        colours, cats = [value // len(names)], [value % len(names)]
    elif attribute == "category":
        colours, cats = list(range(len(COLOURS))), [value]
    elif attribute == "colour":
        colours, cats = [value], list(range(len(names)))
    else:
        raise ValueError(f"invalid value for 'attribute': {attribute!r} (allowed: pair, category, colour)")
    sizes = [0, 1] if kind == "shapes" else [-1]
    needs_colour = attribute in ("pair", "colour")
    if not ensemble:
        t = PLAIN_PROMPT[kind]
        if needs_colour and "{C}" not in t:
            t = "a {C} {S}"
        if attribute == "colour":  # the plain colour prompt names no category: "a red object" is not in the
            t = "a {C} {S}"        # vocabulary, so use the plain template averaged over categories
        out = []
        for c in (colours if "{C}" in t else [-1]):
            for s in cats:
                out.append(Caption(*object_phrase(t, c, s, -1, kind)))
        return out
    out = []
    for t in templates:
        if needs_colour and "{C}" not in t:
            continue
        for c in (colours if "{C}" in t else [-1]):
            for s in cats:
                for z in (sizes if "{Z}" in t else [-1]):
                    out.append(Caption(*object_phrase(t, c, s, z, kind)))
    return out
