"""``pulsewire sentiment adapt``: a sentiment head trained on the business's own rated text, compared with
the shipped model on a held-out part of that text, written as a model directory the worker can load."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer

from .errors import one_line_usage_errors


def register(app: typer.Typer) -> None:
    sentiment_app = typer.Typer(help="The sentiment model: adapt it to your own words, or choose the previous one.", no_args_is_help=True)

    @sentiment_app.command(cls=one_line_usage_errors())
    def adapt(
        data_dir: Optional[Path] = typer.Option(None, "--data-dir",
                                                help="A data directory (store in DIR/clickhouse), as 'pulsewire demo' leaves it."),
        store_url: Optional[str] = typer.Option(None, "--store-url",
                                                help="Read this store instead (chdb:///abs/path or http(s)://host:8123)."),
        out: Optional[Path] = typer.Option(None, "--out", help="The new model directory (must not exist). Default: "
                                           "DIR/sentiment-models/<version> under the data directory."),
        base: Optional[Path] = typer.Option(None, "--base-model", help="The model to adapt (default: "
                                            "PULSEWIRE_MODEL_DIR, else the packaged model)."),
        seed: int = typer.Option(13, "--seed", help="Seed of the train / held-out split and the bootstrap."),
        threads: int = typer.Option(2, "--threads", min=1, help="onnxruntime intra-op threads."),
    ):
        """Train a new head for the sentiment model (encoder frozen, CPU) on the reviews with a star rating and
        the tickets with a CSAT answer in the store (1-2 negative, 3 neutral, 4-5 positive), compare it with
        the model it adapts on a held-out 20%, and write a model directory for PULSEWIRE_MODEL_DIR.

        Reads customers' text only while the store keeps it (PULSEWIRE_RAW_TEXT_TTL_DAYS); erased people's
        rows are gone from the store. Prints counts and figures only, never a text or an id."""
        from pulsewire.models.sentiment import adapt as adapting
        from pulsewire.models.sentiment.head_graph import NotAHeadGraph
        from pulsewire.models.sentiment.scorer import DEFAULT_MODEL_DIR

        from ..store import open_store, redact_url
        from .errors import fail, load_settings, store_errors, store_failure

        if data_dir and not store_url and not data_dir.is_dir():
            fail(f"no data directory {data_dir}: pass the --data-dir a 'pulsewire demo' used, or --store-url")
        settings = load_settings(data_dir=data_dir) if data_dir else load_settings()
        url = store_url or (f"chdb://{(data_dir / 'clickhouse').resolve()}" if data_dir else settings.store_url)
        base_dir = base or settings.model_dir or DEFAULT_MODEL_DIR
        if not (base_dir / "manifest.json").is_file():
            fail(f"no sentiment model at {base_dir} (manifest.json missing): pass --base-model DIR")
        if out is not None and out.exists():
            fail(f"--out {out} already exists: choose a new directory (an adapted model is never written over)")

        try:
            with open_store(url, user=settings.store_user, password=settings.store_password.get_secret_value(),
                            read_only=True, ca_file=settings.store_ca_file) as store:
                rows = adapting.read_labelled(store, settings.raw_text_ttl_days)
        except store_errors() as exc:
            fail(store_failure(url, exc))
        dedup = adapting.deduplicate(rows)
        items = dedup.items
        kinds = {k: sum(1 for r in rows if r.kind == k) for k in ("review", "ticket")}
        span = f"; {min(r.day for r in rows)} .. {max(r.day for r in rows)}" if rows else ""
        typer.echo(f"read {len(rows)} rated texts from {redact_url(url)} (reviews {kinds['review']}, "
                   f"rated tickets {kinds['ticket']}{span}); left out {dedup.duplicates} repeated copies and "
                   f"{dedup.conflicting} text{'' if dedup.conflicting == 1 else 's'} rated into different classes")
        try:
            adapting.check_enough(adapting.class_counts([it.label for it in items]))
        except adapting.AdaptError as exc:
            fail(str(exc))

        if out is None:
            import json

            base_version = json.loads((base_dir / "manifest.json").read_text(encoding="utf-8"))["version"]
            version, _ = adapting.version_for(items, base_version, seed)
            out = (data_dir or settings.data_dir) / "sentiment-models" / version
            if out.exists():
                fail(f"{out} already exists: this data was adapted before (same version); remove it or pass --out")
        out.parent.mkdir(parents=True, exist_ok=True)

        started = datetime.now(timezone.utc)
        try:
            result = adapting.adapt(items, base_dir, out, seed=seed, max_tokens=settings.model_max_tokens,
                                    threads=threads, progress=lambda m: typer.echo(m, err=True),
                                    source_summary={"read": len(rows), "duplicates": dedup.duplicates,
                                                    "conflicting": dedup.conflicting})
        except (adapting.AdaptError, NotAHeadGraph) as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror}")
        c = result.counts
        per = lambda d: ", ".join(f"{k} {d[k]}" for k in ("negative", "neutral", "positive"))  # noqa: E731
        typer.echo(f"train {c['train']['total']} ({per(c['train'])}); held out {c['held_out']['total']} "
                   f"({per(c['held_out'])}); regularisation {result.lam:g} chosen on a part of train; "
                   f"{(datetime.now(timezone.utc) - started).total_seconds():.0f} s")
        for line in adapting.comparison_table(result.shipped, result.adapted):
            typer.echo(line)
        typer.echo(f"wrote {out} (version {result.version})")
        advice = (f"deploy it with PULSEWIRE_MODEL_DIR={out.resolve()}" if result.better
                  else "keep the shipped model")
        typer.echo(f"{result.verdict}; {advice}")

    @sentiment_app.command(cls=one_line_usage_errors())
    def previous(
        out: Path = typer.Option(..., "--out", help="The model directory to write (must not exist)."),
    ):
        """Write the default model until 2026-12-01 (minilm-l4-3c-ft-int8-2026.11.27: same encoder, the
        fine-tuned head that pushes neutral text to a pole) for PULSEWIRE_MODEL_DIR. An explicit, opt-in
        choice; its licence is the same as the default's (not cleared for commercial use)."""
        from pulsewire.models.sentiment.previous import PreviousModelError, write_previous

        from .errors import fail

        if out.exists():
            fail(f"--out {out} already exists: choose a new directory")
        try:
            m = write_previous(out)
        except PreviousModelError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror}")
        typer.echo(f"wrote {out} (version {m['version']}); deploy it with PULSEWIRE_MODEL_DIR={out.resolve()}")

    app.add_typer(sentiment_app, name="sentiment")
