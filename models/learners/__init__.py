"""Online churn and burnout learners (River), their features, labels, alert policy and metrics.

Pure Python, no Kafka: the Faust agents in ``pulsewire.streams.agents`` are thin
wrappers around these functions, and ``replay.py`` runs the same functions
in-process for tests and quick experiments. See docs/learners.md.
"""
