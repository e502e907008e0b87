"""Mixup, CutMix and MixupCutMix: lambda statistics, exact CutMix label
weights, identity, seeds, label sums, input forms, serialization and bad
input. Backend-neutral (runs under TF and JAX)."""

import keras
import numpy as np
import pytest

from kerasext.layers import CutMix, Mixup, MixupCutMix


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def partner(i, n):
    """The documented pairing: i xor 1; the last of an odd batch is alone."""
    return min(i ^ 1, n - 1)


def beta_moments(alpha):
    """Mean, variance and 4th central moment of Beta(alpha, alpha).

    Variance 1 / (4 (2 alpha + 1)); the symmetric Beta's excess kurtosis is
    -6 / (2 alpha + 3), so mu4 = var**2 * (3 - 6 / (2 alpha + 3)).
    """
    var = 1.0 / (4.0 * (2.0 * alpha + 1.0))
    mu4 = var**2 * (3.0 - 6.0 / (2.0 * alpha + 3.0))
    return 0.5, var, mu4


def assert_beta(lam, alpha):
    """Mean and variance of the draws within 3 standard errors.

    Standard error of the mean: sqrt(var / n). Standard error of the sample
    variance s^2 (unbiased, i.i.d. draws): Var(s^2) = (mu4 - var^2 (n - 3) /
    (n - 1)) / n, with the exact 4th central moment mu4 of Beta(alpha,
    alpha), so no bootstrap is needed.
    """
    n = lam.size
    mean, var, mu4 = beta_moments(alpha)
    se_mean = np.sqrt(var / n)
    se_var = np.sqrt((mu4 - var**2 * (n - 3) / (n - 1)) / n)
    assert abs(lam.mean() - mean) < 3 * se_mean, (lam.mean(), mean, se_mean)
    assert abs(lam.var(ddof=1) - var) < 3 * se_var, (lam.var(), var, se_var)


def alternating_batch(n, height=1, width=1, channels=1):
    """Images whose values encode (sample, pixel, channel), and labels 0/1
    alternating, so every sample's partner has the other class."""
    index = np.arange(n * height * width * channels, dtype="float32")
    images = index.reshape(n, height, width, channels)
    labels = np.arange(n) % 2
    return images, labels


@pytest.mark.parametrize("alpha", [0.2, 1.0])
@pytest.mark.parametrize(
    "make",
    [
        lambda a: Mixup(alpha=a, num_classes=2, seed=11),
        # Mixup draws through MixupCutMix's two paths: Mixup only, and both
        # enabled with CutMix never chosen.
        lambda a: MixupCutMix(a, 0.0, num_classes=2, seed=12),
        lambda a: MixupCutMix(a, 1.0, switch_prob=0.0, num_classes=2, seed=13),
    ],
    ids=["Mixup", "MixupCutMix-mixup-only", "MixupCutMix-switch-0"],
)
def test_lambda_is_beta(alpha, make):
    n = 10_000
    images, labels = alternating_batch(n)
    _, mixed = make(alpha)(images, labels)
    mixed = to_numpy(mixed)
    lam = mixed[np.arange(n), labels]  # weight of the sample's own class
    assert_beta(lam, alpha)


@pytest.mark.parametrize(
    "n, side",
    # Small samples blend elementwise; large ones (>= 6144 values) with a
    # batched 2x2 matmul when the batch is even: cover both, and odd.
    [(64, 3), (16, 48), (15, 48)],
)
def test_mixup_images_use_the_label_weight(n, side):
    images, labels = alternating_batch(n, side, side, 3)
    images = images / images.max() + 1.0
    out, mixed = Mixup(alpha=0.5, num_classes=2, seed=0)(images, labels)
    out, mixed = to_numpy(out), to_numpy(mixed)
    for i in range(n):
        lam = mixed[i, labels[i]]
        expected = lam * images[i] + (1 - lam) * images[partner(i, n)]
        np.testing.assert_allclose(out[i], expected, rtol=1e-5)
    if n % 2:
        np.testing.assert_array_equal(out[-1], images[-1])


def cutmix_sources(out, n, height, width, channels):
    """Source sample of every pixel, read off the encoded pixel values."""
    per_sample = height * width * channels
    source = np.floor(out / per_sample).astype(int)
    assert np.all(source == source[..., :1])  # channels move together
    return source[..., 0]


@pytest.mark.parametrize(
    "n, height, width, alpha, prob, seed",
    [
        (256, 12, 12, 1.0, 1.0, 0),
        (257, 11, 7, 0.5, 0.7, 1),  # odd: the last sample is its own partner
        (200, 16, 9, 2.0, 1.0, 2),
    ],
)
def test_cutmix_label_weight_is_the_pasted_fraction(
    n, height, width, alpha, prob, seed
):
    channels = 2
    images, labels = alternating_batch(n, height, width, channels)
    layer = CutMix(alpha=alpha, num_classes=2, prob=prob, seed=seed)
    out, mixed = layer(images, labels)
    out, mixed = to_numpy(out), to_numpy(mixed)
    source = cutmix_sources(out, n, height, width, channels)
    clipped = 0
    for i in range(n):
        j = partner(i, n)
        assert set(np.unique(source[i])) <= {i, j}
        # Every pixel equals the same pixel of one of the two sources.
        np.testing.assert_array_equal(
            out[i], np.where((source[i] == j)[..., None], images[j], images[i])
        )
        pasted = (source[i] == j).sum() if j != i else 0
        fraction = np.float32(pasted) / np.float32(height * width)
        other = 1 - labels[i]
        if j != i:
            np.testing.assert_allclose(mixed[i, other], fraction, atol=1e-6)
            np.testing.assert_allclose(mixed[i, labels[i]], 1 - fraction, atol=1e-6)
        if pasted:
            rows, cols = np.nonzero(source[i] == j)
            box = source[i][rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
            assert np.all(box == j)  # one rectangle
            touches = (
                rows.min() == 0
                or cols.min() == 0
                or rows.max() == height - 1
                or cols.max() == width - 1
            )
            clipped += touches
    if n % 2:
        np.testing.assert_array_equal(out[-1], images[-1])  # alone
    assert clipped > n // 10  # boxes do hang over the border


def test_mixup_cutmix_elem_mode_is_exact_per_sample():
    n, height, width, channels = 200, 8, 8, 1
    images, labels = alternating_batch(n, height, width, channels)
    images = images + 1.0
    layer = MixupCutMix(0.8, 1.0, num_classes=2, mode="elem", seed=5)
    out, mixed = layer(images, labels)
    out, mixed = to_numpy(out), to_numpy(mixed)
    kinds = set()
    for i in range(n):
        j = partner(i, n)
        own = mixed[i, labels[i]]
        pasted = out[i] == images[j]
        kept = out[i] == images[i]
        if np.all(pasted | kept) and not np.all(kept) or own == 1.0:
            kinds.add("cutmix")
            fraction = pasted.sum() / (height * width * channels)
            np.testing.assert_allclose(own, 1 - fraction, atol=1e-6)
        else:
            kinds.add("mixup")
            lam = (out[i] - images[j]) / (images[i] - images[j])
            np.testing.assert_allclose(lam, own, rtol=1e-4, atol=1e-4)
    assert kinds == {"cutmix", "mixup"}


@pytest.mark.parametrize("side", [8, 48])  # elementwise / matmul blends
def test_mixup_cutmix_batch_mode_shares_one_draw(side):
    n = 16
    images, labels = alternating_batch(n, side, side, 1)
    images = images + 1.0
    partners = images[[partner(i, n) for i in range(n)]]
    kinds = set()
    for seed in range(8):
        layer = MixupCutMix(num_classes=2, mode="batch", seed=seed)
        out, mixed = layer(images, labels)
        out, own = to_numpy(out), to_numpy(mixed)[np.arange(n), labels]
        np.testing.assert_allclose(own, own[0], atol=1e-6)
        pasted = out == partners
        if np.all(pasted | (out == images)):  # CutMix: one box for all
            kinds.add("cutmix")
            assert np.all(pasted == pasted[:1])
            np.testing.assert_allclose(1 - pasted[0].mean(), own[0], atol=1e-6)
        else:
            kinds.add("mixup")
            np.testing.assert_allclose(
                out, own[0] * images + (1 - own[0]) * partners, rtol=1e-5
            )
    assert kinds == {"cutmix", "mixup"}


def test_label_smoothing_before_mixing():
    labels = np.array([0, 1, 2, 1])
    images = np.ones((4, 4, 4, 3), "float32")
    layer = MixupCutMix(num_classes=3, prob=0.0, label_smoothing=0.3)
    _, out = layer(images, labels)
    expected = np.eye(3)[labels] * 0.7 + 0.1
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-6)


LAYERS = {
    "Mixup": lambda **kw: Mixup(**{"num_classes": 5, **kw}),
    "CutMix": lambda **kw: CutMix(**{"num_classes": 5, **kw}),
    "MixupCutMix": lambda **kw: MixupCutMix(**{"num_classes": 5, **kw}),
    "MixupCutMix-batch": lambda **kw: MixupCutMix(
        **{"num_classes": 5, "mode": "batch", **kw}
    ),
}


def batch(n=16, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.random((n, 8, 8, 3)).astype("float32")
    return images, rng.integers(0, 5, n)


@pytest.mark.parametrize("name", LAYERS)
def test_identity_when_not_training_or_prob_zero(name):
    images, labels = batch()
    for kwargs, call in (({}, {"training": False}), ({"prob": 0.0}, {})):
        out, mixed = LAYERS[name](**kwargs)(images, labels, **call)
        np.testing.assert_array_equal(to_numpy(out), images)
        np.testing.assert_array_equal(to_numpy(mixed), np.eye(5)[labels])


@pytest.mark.parametrize("name", LAYERS)
def test_same_seed_same_output(name):
    images, labels = batch()
    a = LAYERS[name](seed=21)(images, labels)
    b = LAYERS[name](seed=21)(images, labels)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(to_numpy(x), to_numpy(y))


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("form", ["pair", "tuple", "dict", "column", "onehot"])
def test_labels_sum_to_one_in_every_form(name, form):
    images, labels = batch(n=15)
    layer = LAYERS[name](prob=0.8, seed=2)
    if form == "pair":
        out = layer(images, labels)
    elif form == "tuple":
        out = layer((images, labels))
    elif form == "column":
        out = layer(images, labels[:, None])
    elif form == "onehot":
        out = layer(images, np.eye(5, dtype="float32")[labels])
    else:
        result = layer({"images": images, "labels": labels, "extra": labels})
        assert sorted(result) == ["extra", "images", "labels"]
        out = (result["images"], result["labels"])
    assert isinstance(out, tuple)
    mixed = to_numpy(out[1])
    assert mixed.shape == (15, 5)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, atol=1e-6)
    assert (mixed >= 0).all()


@pytest.mark.parametrize("name", LAYERS)
def test_prob_is_per_sample_or_per_batch(name):
    per_batch = "batch" in name
    n, trials = (8, 60) if per_batch else (2000, 1)
    images, labels = alternating_batch(n, 32, 32, 1)
    mixed = []
    for seed in range(trials):
        layer = LAYERS[name](prob=0.4, seed=seed, num_classes=2)
        _, out = layer(images, labels)
        own = to_numpy(out)[np.arange(n), labels]
        mixed.append(own < 1.0 if not per_batch else own[:1] < 1.0)
    mixed = np.concatenate(mixed)
    # A mixed sample keeps weight 1 only if it draws lam = 1 or an empty
    # CutMix box (cut < 1 pixel of 32: lam > 0.999), which happens <1% of
    # the time at these alphas: allowed for with the 0.01 slack.
    assert abs(mixed.mean() - 0.4) < 3 * np.sqrt(0.4 * 0.6 / mixed.size) + 0.01


def test_dtypes():
    images = np.full((6, 8, 8, 3), 100, "uint8")
    labels = np.arange(6) % 3
    out, mixed = CutMix(num_classes=3, seed=0)(images, labels)
    assert keras.backend.standardize_dtype(out.dtype) == "uint8"
    assert keras.backend.standardize_dtype(mixed.dtype) == "float32"
    out, _ = Mixup(num_classes=3)(images, labels)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    out, _ = MixupCutMix(0.0, 1.0, num_classes=3)(images, labels)
    assert keras.backend.standardize_dtype(out.dtype) == "uint8"
    out, _ = Mixup(num_classes=3)(images.astype("float16"), labels)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    assert Mixup.mixes_labels and CutMix.mixes_labels and MixupCutMix.mixes_labels


def test_odd_batch_last_sample_is_unchanged():
    images, labels = batch(n=7)
    for layer in (Mixup(num_classes=5), CutMix(num_classes=5)):
        out, mixed = layer(images, labels)
        np.testing.assert_array_equal(to_numpy(out)[-1], images[-1])
        np.testing.assert_allclose(to_numpy(mixed)[-1], np.eye(5)[labels[-1]])


CONFIGS = [
    (Mixup, {"alpha": 0.4, "num_classes": 10, "prob": 0.5, "seed": 1}),
    (CutMix, {"alpha": 2.0, "num_classes": None, "prob": 0.9, "seed": None}),
    (
        MixupCutMix,
        {
            "mixup_alpha": 0.8,
            "cutmix_alpha": 0.0,
            "prob": 0.6,
            "switch_prob": 0.3,
            "label_smoothing": 0.1,
            "mode": "batch",
            "num_classes": 7,
            "seed": 4,
        },
    ),
]


@pytest.mark.parametrize("cls, kwargs", CONFIGS)
def test_config_round_trip(cls, kwargs):
    layer = cls(**kwargs)
    config = layer.get_config()
    for key, value in kwargs.items():
        assert config[key] == value
    clone = cls.from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(restored) is cls and restored.get_config() == config


@pytest.mark.parametrize("alpha", [0, 0.0, -1])
@pytest.mark.parametrize("cls", [Mixup, CutMix])
def test_bad_alpha(cls, alpha):
    with pytest.raises(ValueError, match=r"`alpha` must be > 0. Received: alpha="):
        cls(alpha=alpha)


@pytest.mark.parametrize("alpha", [float("nan"), float("inf"), "1", True])
@pytest.mark.parametrize("cls", [Mixup, CutMix])
def test_alpha_not_a_finite_number(cls, alpha):
    with pytest.raises(
        ValueError, match=r"`alpha` must be a finite number > 0. Received: alpha="
    ):
        cls(alpha=alpha)


@pytest.mark.parametrize("cls", [Mixup, CutMix, MixupCutMix])
@pytest.mark.parametrize("prob", [-0.5, 1.01, None])
def test_bad_prob(cls, prob):
    with pytest.raises(ValueError, match=r"`prob`.*Received: prob="):
        cls(prob=prob)


def test_bad_mixup_cutmix_arguments():
    with pytest.raises(ValueError, match=r"mixup_alpha=0, cutmix_alpha=0"):
        MixupCutMix(0, 0)
    with pytest.raises(ValueError, match=r"Received: mixup_alpha=-1"):
        MixupCutMix(-1)
    with pytest.raises(ValueError, match=r"Received: switch_prob=2"):
        MixupCutMix(switch_prob=2)
    with pytest.raises(ValueError, match=r"Received: label_smoothing=-0.1"):
        MixupCutMix(label_smoothing=-0.1)
    with pytest.raises(ValueError, match=r"Received: mode='pair'"):
        MixupCutMix(mode="pair")
    with pytest.raises(ValueError, match=r"Received: num_classes=0"):
        Mixup(num_classes=0)


@pytest.mark.parametrize("cls", [Mixup, CutMix, MixupCutMix])
def test_bad_labels_and_images(cls):
    images, labels = batch(n=4)
    with pytest.raises(ValueError, match=r"`num_classes`.*Received: num_classes=None"):
        cls()(images, labels)
    with pytest.raises(
        ValueError, match=r"\[0, num_classes\).*label of 5 with num_classes=5"
    ):
        cls(num_classes=5)(images, np.array([0, 1, 5, 2]))
    with pytest.raises(ValueError, match=r"label of -1"):
        cls(num_classes=5)(images, np.array([0, 1, -1, 2]))
    with pytest.raises(
        ValueError,
        match=r"`images` must have rank 4.*Received: images.shape=\(8, 8, 3\)",
    ):
        cls(num_classes=5)(images[0], labels[:1])
    with pytest.raises(ValueError, match=r"same batch size.*labels.shape=\(3,\)"):
        cls(num_classes=5)(images, labels[:3])
    with pytest.raises(ValueError, match=r"Received: labels=None"):
        cls(num_classes=5)(images)
    with pytest.raises(ValueError, match=r"labels.shape=\(4, 3\) with num_classes=5"):
        cls(num_classes=5)(images, np.ones((4, 3), "float32") / 3)
