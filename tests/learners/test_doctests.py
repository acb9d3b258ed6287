"""The doctest examples in the learner modules run as part of this suite."""

import doctest
import importlib

import pytest

MODULES = ["pulsewire.models.learners.features", "pulsewire.models.learners.estimators",
           "pulsewire.models.learners.labels", "pulsewire.models.learners.policy",
           "pulsewire.models.learners.processor", "pulsewire.models.learners.metrics",
           "pulsewire.models.learners.evaluation", "pulsewire.models.learners.replay", "pulsewire.schemas.alerts",
           "pulsewire.models.learners.inactivity"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0
