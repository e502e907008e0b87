"""The fused (XLA) pixel passes give what the unfused ones give.

Under the TensorFlow backend, in a graph, the layers' pixel passes are
compiled with XLA (`kerasext/layers/_pixels.py`); `KERASEXT_XLA=0` turns that
off. Same seed, same inputs: Cutout, CutMix and MixupCutMix's pastes are
selections and must match bit for bit; blends match to float rounding.
Also checks the compiled path is really taken (the speed depends on it).
"""

import keras
import numpy as np
import pytest

from kerasext.layers import CutMix, Cutout, Mixup, MixupCutMix

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason=f"XLA fusion is the TensorFlow backend's path (running {keras.backend.backend()})",
)

LAYERS = {
    "Cutout": lambda: Cutout(5, fill_value=0.5, prob=0.8, seed=4),
    "Cutout-zero": lambda: Cutout(0.4, seed=4),
    "Mixup": lambda: Mixup(0.4, num_classes=4, prob=0.7, seed=4),
    "CutMix": lambda: CutMix(num_classes=4, prob=0.9, seed=4),
    "MixupCutMix": lambda: MixupCutMix(num_classes=4, seed=4),
    "MixupCutMix-batch": lambda: MixupCutMix(num_classes=4, mode="batch", seed=4),
}


def _pipeline_outputs(make_layer, xla, monkeypatch, side):
    import tensorflow as tf

    monkeypatch.setenv("KERASEXT_XLA", "1" if xla else "0")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (23, side, side, 3)).astype("float32")
    labels = rng.integers(0, 4, 23)
    layer = make_layer()
    # Unknown batch size inside the map; the last batch (23 = 2 * 8 + 7) is odd.
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8).map(layer)
    return [(x.numpy(), y.numpy()) for x, y in ds]


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("side", [9, 40])
def test_tf_data_outputs_match_the_unfused_path(name, side, monkeypatch):
    fused = _pipeline_outputs(LAYERS[name], True, monkeypatch, side)
    plain = _pipeline_outputs(LAYERS[name], False, monkeypatch, side)
    assert len(fused) == len(plain) == 3
    for (xf, yf), (xp, yp) in zip(fused, plain):
        if name.startswith("Mixup"):
            np.testing.assert_allclose(xf, xp, rtol=1e-5, atol=1e-3)
        else:
            np.testing.assert_array_equal(xf, xp)
        np.testing.assert_array_equal(yf, yp)


@pytest.mark.parametrize("name", ["Cutout", "CutMix", "Mixup"])
def test_tf_function_outputs_match_and_are_compiled(name, monkeypatch):
    import tensorflow as tf

    images = np.random.default_rng(1).random((10, 16, 16, 3)).astype("float32")
    labels = np.arange(10) % 4
    outputs = {}
    for xla in (True, False):
        monkeypatch.setenv("KERASEXT_XLA", "1" if xla else "0")
        layer = LAYERS[name]()
        if name == "Cutout":
            step = tf.function(lambda x: layer(x))
            args = (images,)
        else:
            step = tf.function(lambda x, y: layer(x, y)[0])
            args = (images, labels)
        outputs[xla] = step(*args).numpy()
        graph = step.get_concrete_function(*args).graph.as_graph_def()
        functions = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
        compiled = any(
            "_XlaMustCompile" in f.attr and f.attr["_XlaMustCompile"].b
            for f in graph.library.function
        ) or any(n.attr.get("_XlaMustCompile") and n.attr["_XlaMustCompile"].b for n in functions)
        assert compiled == xla
        assert not np.array_equal(outputs[xla], images)  # something was augmented
    np.testing.assert_allclose(outputs[True], outputs[False], rtol=1e-5, atol=1e-6)
