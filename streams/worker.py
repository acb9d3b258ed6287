"""Run the pulsewire worker (what a deployment runs; ``pulsewire demo`` runs the same thing)."""

from __future__ import annotations

import logging
import time

from .settings import Settings


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    import faust

    from . import readiness
    from .app import create_app
    from .topics import TopicMap, ensure_topics

    key = settings.require_pseudonym_key()  # refuse to start without it, before touching anything
    from pulsewire.models.learners.processor import LearnerConfig

    learner_config = LearnerConfig.from_env()  # a bad PULSEWIRE_LEARN_* value stops here too, before the broker is touched
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    topic_map = TopicMap.from_settings(settings)
    ensure_topics(settings.kafka, topic_map)
    app, ctx = create_app(settings, key=key, topics=topic_map)
    # Fail fast on a missing model or a locked store, before joining the consumer group.
    ctx.store  # noqa: B018
    ctx.scorer  # noqa: B018
    readiness.of(app).store_open = True
    from pulsewire.models.sentiment.licence import commercial_use_cleared, licence_line

    # Said at every start, as a warning when not cleared: whoever runs the worker must not miss it.
    logging.getLogger("pulsewire").log(logging.INFO if commercial_use_cleared(ctx.scorer.manifest) else logging.WARNING,
                                       licence_line(ctx.scorer.manifest))
    logging.getLogger("pulsewire").info("worker starting: broker=%s store=%s model=%s readiness=http://%s:%s%s",
                                        settings.kafka, ctx.store.backend, ctx.scorer.version,
                                        app.conf.web_host, app.conf.web_port, readiness.PATH)
    quiet_line = learner_config.alerts_from_line(time.time())
    if quiet_line:
        logging.getLogger("pulsewire").warning(quiet_line)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    faust_root_logger_setup = worker.on_setup_root_logger

    def on_setup_root_logger(logger: logging.Logger, level: int) -> None:
        faust_root_logger_setup(logger, level)
        from .cli import filter_client_logs  # Faust's handlers replace ours: Kafka client lines only with -v

        filter_client_logs(logger)

    worker.on_setup_root_logger = on_setup_root_logger
    worker.execute_from_commandline()
