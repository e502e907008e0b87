"""`--remat`: layers that recompute their internals in the backward pass instead of keeping them."""

import contextlib
import functools
import inspect

import keras

# No public API reads or enters the mixed-precision autocast scope (Keras 3.15.1): a layer's
# `__call__` enters it, and the backward pass's recomputation runs outside that call.
from keras.src.backend.common.variables import AutocastScope, get_autocast_scope


def rematerialize(model):
    """`--remat`: makes every layer of `model` that can run twice recompute in the backward pass.

    Such a layer keeps only its inputs for the backward pass; what it computes inside
    (a pre-activation, a GELU's or a normalization's temporaries) is computed again there
    (`keras.remat`) instead of being held from the forward pass: less memory for more
    compute. A layer qualifies (`rematerializable`) when running it again gives the same
    outputs and changes nothing. Call it before the first `fit`; calling it again does nothing.

    Keras' own `RematScope` cannot do this on Keras 3.15.1 with TensorFlow: its remat is
    given the call's keyword arguments (`training`, which `Dense` takes), which TensorFlow's
    `recompute_grad` refuses in a graph, and `mode="activations"` recomputes only the
    activation function, whose input is kept anyway: no memory saved.

    Returns:
        The names of the layers recomputed.
    """
    names = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if getattr(layer, "_kerasext_remat", False):
            names.append(layer.name)
        elif rematerializable(layer):
            layer.call = _recomputed(layer)
            layer._kerasext_remat = True
            names.append(layer.name)
    return names


def rematerializable(layer):
    """Whether `rematerialize` recomputes `layer`: running it again gives the same and changes nothing.

    That is a single layer (no sublayers, not a model) without non-trainable variables
    (no batch statistics to update twice, not frozen) or random seed (no second dropout
    mask or augmentation drawn) whose `call` takes no `mask`. A softmax or sigmoid output
    is kept too: a Keras loss computes from its logits, which a recomputed layer loses.
    """
    if isinstance(layer, (keras.Model, keras.layers.InputLayer)) or layer._flatten_layers(
            include_self=False, recursive=False):
        return False
    if layer.non_trainable_variables or _has_seed(layer):
        return False
    if getattr(layer, "activation", None) in _KEEP_LOGITS:
        return False  # the loss reads these outputs' logits (`_keras_logits`), which remat drops
    return "mask" not in inspect.signature(layer.call).parameters


_KEEP_LOGITS = (keras.activations.softmax, keras.activations.sigmoid, keras.activations.log_softmax)


def _has_seed(layer):
    return any(isinstance(v, keras.random.SeedGenerator) for v in vars(layer).values())


def _recomputed(layer):
    """`layer.call` run under `keras.remat`, its keyword arguments (`training=...`) closed over.

    The layer's weights enter the recomputed function as inputs, read once in the forward
    pass, so the backward pass recomputes with the values the forward pass used, whatever
    else reads or updates the variables in between. Under mixed precision the forward
    call's autocast scope (float16 reads of float32 weights) is entered again in the
    recomputation, which runs outside the layer's `__call__`.
    """
    call = layer.call

    @functools.wraps(call)
    def recomputed_call(*args, **kwargs):
        variables = list(layer.trainable_variables)
        flat = keras.tree.flatten(args)
        autocast = get_autocast_scope()
        dtype = autocast.dtype if autocast is not None else None

        def compute(*tensors):
            inputs = keras.tree.pack_sequence_as(args, tensors[: len(flat)])
            scope = AutocastScope(dtype) if dtype else contextlib.nullcontext()
            with scope, keras.StatelessScope(state_mapping=list(zip(variables, tensors[len(flat):]))):
                return call(*inputs, **kwargs)

        return keras.remat(compute)(*flat, *(variable.value for variable in variables))

    return recomputed_call
