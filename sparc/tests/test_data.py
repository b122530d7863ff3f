"""The offline data: determinism, masks, held-out compositions, digit split, captions, prompts, cache."""

import numpy as np
import pytest

from sparc import data as D


@pytest.fixture(scope="module")
def shapes():
    return D.make_shape_scenes(60, 32, seed=3)


@pytest.fixture(scope="module")
def digits():
    return D.make_digit_scenes(40, 48, seed=3, digit_px=16, max_objects=4)


def test_generators_are_deterministic(shapes, digits):
    again = D.make_shape_scenes(60, 32, seed=3)
    assert np.array_equal(again.images, shapes.images) and np.array_equal(again.instance_map, shapes.instance_map)
    assert np.array_equal(again.attrs, shapes.attrs)
    assert not np.array_equal(D.make_shape_scenes(60, 32, seed=4).images, shapes.images)
    d2 = D.make_digit_scenes(40, 48, seed=3, digit_px=16, max_objects=4)
    assert np.array_equal(d2.images, digits.images) and np.array_equal(d2.instances, digits.instances)


@pytest.mark.parametrize("which", ["shapes", "digits"])
def test_masks_match_objects_and_colours(which, shapes, digits):
    scenes = shapes if which == "shapes" else digits
    assert scenes.images.dtype == np.uint8 and scenes.instance_map.dtype == np.uint8
    for i in range(len(scenes)):
        n = int(scenes.n_objects[i])
        assert n >= 1
        assert set(np.unique(scenes.instance_map[i])) <= set(range(n + 1))
        # present objects come first, absent ones are all -1
        assert (scenes.attrs[i, :n] >= 0)[:, :2].all() and (scenes.attrs[i, n:] == -1).all()
        bg = scenes.instance_map[i] == 0
        assert scenes.images[i][bg].mean() < 80  # dark background
        for k in range(n):
            mask = scenes.instance_map[i] == k + 1
            assert mask.sum() >= 4
            # the pixels of object k carry its colour: the palette entry closest in direction to their mean
            # above the background (digits are blended by intensity, so compare directions, not values)
            mean_rgb = scenes.images[i][mask].mean(0) - scenes.images[i][bg].mean(0)
            cos = D.COLOUR_RGB @ mean_rgb / (np.linalg.norm(D.COLOUR_RGB, axis=1) * np.linalg.norm(mean_rgb))
            assert cos.argmax() == scenes.attrs[i, k, 0]
            # objects never touch: the 4-neighbourhood of one object holds no other object
            grown = D._dilate(mask)
            others = (scenes.instance_map[i] > 0) & ~mask
            assert not (grown & others).any()
    # the attribute maps follow the instance map
    cmap = scenes.attribute_map("colour")
    i, k = 0, 0
    assert (cmap[0][scenes.instance_map[i] == k + 1] == scenes.attrs[i, k, 0]).all()
    assert (cmap[scenes.instance_map == 0] == -1).all()


def test_held_out_pairs_never_in_training_but_in_test():
    assert len(D.HELD_OUT_PAIRS) == len(D.COLOURS)
    assert {c for c, _ in D.HELD_OUT_PAIRS} == set(range(len(D.COLOURS)))  # every colour still trained otherwise
    train = D.make_shape_scenes(400, 32, seed=0)
    pairs = {(int(c), int(s)) for c, s, _ in train.attrs.reshape(-1, 3) if c >= 0}
    assert not pairs & D.HELD_OUT_PAIRS
    assert len(pairs) == 35 - 7  # ... and every other pair occurs
    test = D.make_shape_scenes(400, 32, seed=1, allow_held_out=True)
    assert {(int(c), int(s)) for c, s, _ in test.attrs.reshape(-1, 3) if c >= 0} & D.HELD_OUT_PAIRS
    single = D.make_shape_scenes(70, 32, seed=2, max_objects=1, pairs=D.single_object_pairs())
    assert sorted(map(tuple, single.attrs[:, 0].tolist())) == sorted(D.single_object_pairs())


def test_digit_split_by_instance(digits):
    train, test = D.digit_split()
    assert len(train) + len(test) == 1797 and not set(train) & set(test)
    used = digits.instances[digits.instances >= 0]
    assert set(used.tolist()) <= set(train.tolist())
    test_scenes = D.make_digit_scenes(30, 48, seed=5, digit_px=16, split="test")
    assert set(test_scenes.instances[test_scenes.instances >= 0].tolist()) <= set(test.tolist())
    with pytest.raises(ValueError, match="split"):
        D.make_digit_scenes(2, 48, seed=0, split="val")


def test_captions_name_the_objects_and_vary_in_structure(shapes, digits):
    rng = np.random.default_rng(0)
    for scenes, names in ((shapes, D.SHAPES), (digits, D.DIGITS)):
        for i in range(len(scenes)):
            cap = D.make_caption(scenes.attrs[i], scenes.kind, rng)
            assert len(cap.words) == len(cap.objects) == len(cap.roles)
            named = set()
            for w, k, r in zip(cap.words, cap.objects, cap.roles):
                if r == D.ROLE_COLOUR:
                    assert w == D.COLOURS[scenes.attrs[i, k, 0]]
                elif r == D.ROLE_CATEGORY:
                    assert w == names[scenes.attrs[i, k, 1]]
                    named.add(k)
                elif r == D.ROLE_SIZE:
                    assert w == D.SIZES[scenes.attrs[i, k, 2]]
                else:
                    assert k == -1 and w not in D.ATTRIBUTE_WORDS
            assert named == set(range(int(scenes.n_objects[i])))  # every object is named
            assert len(cap.words) <= D.max_caption_length(scenes.kind, scenes.attrs.shape[1])
    # a token's position does not give its role away: the same scene's captions put words everywhere
    two = next(i for i in range(len(shapes)) if shapes.n_objects[i] == 2)
    caps = [D.make_caption(shapes.attrs[two], "shapes", rng) for _ in range(200)]
    first_colour = {c.roles.index(D.ROLE_COLOUR) for c in caps if D.ROLE_COLOUR in c.roles}
    first_object = {c.objects[c.roles.index(D.ROLE_CATEGORY)] for c in caps}
    assert len(first_colour) >= 5 and first_object == {0, 1} and len({c.text for c in caps}) > 150


def test_tokenize_and_prompts():
    caps = [D.Caption(["a", "red", "circle"], [-1, 0, 0], [0, 1, 2]), D.Caption(["here"], [-1], [0])]
    tok = D.tokenize(caps, 5)
    assert [D.VOCAB[i] for i in tok.ids[0, :3]] == ["a", "red", "circle"]
    assert tok.mask.tolist() == [[True] * 3 + [False] * 2, [True] + [False] * 4]
    assert tok.objects[0].tolist() == [-1, 0, 0, -1, -1] and tok.roles[1].tolist() == [0, -1, -1, -1, -1]
    with pytest.raises(ValueError, match="max_len"):
        D.tokenize(caps, 2)
    red_circle = D.COLOURS.index("red") * len(D.SHAPES) + D.SHAPES.index("circle")
    assert [p.text for p in D.prompts_for("shapes", "pair", red_circle, ensemble=False)] == ["a red circle"]
    ens = D.prompts_for("shapes", "pair", red_circle)
    assert len(ens) > 5 and all("red" in p.words and "circle" in p.words for p in ens)
    assert [p.text for p in D.prompts_for("digits", "category", 7, ensemble=False)] == ["a seven"]
    colour = D.prompts_for("digits", "colour", 2)
    assert all("blue" in p.words for p in colour) and {w for p in colour for w in p.words} >= set(D.DIGITS)
    with pytest.raises(ValueError, match="attribute"):
        D.prompts_for("shapes", "size", 0)


def test_swap_colours_for_binding():
    attrs = np.array([[0, 1, 0], [2, 3, 1], [-1, -1, -1]], np.int8)
    swapped = D.swap_colours(attrs, np.random.default_rng(0))
    assert swapped[:, 0].tolist() == [2, 0, -1] and (swapped[:, 1:] == attrs[:, 1:]).all()
    assert D.swap_colours(np.array([[1, 1, 0], [1, 2, 0]], np.int8), np.random.default_rng(0)) is None


def test_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARC_CACHE_DIR", str(tmp_path))
    a = D.cached(D.make_shape_scenes, n=5, image_size=32, seed=9)
    assert len(list(tmp_path.glob("make_shape_scenes-*.npz"))) == 1
    b = D.cached(D.make_shape_scenes, n=5, image_size=32, seed=9)
    assert b.kind == "shapes" and np.array_equal(a.images, b.images) and np.array_equal(a.attrs, b.attrs)
