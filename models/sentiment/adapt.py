"""``pulsewire sentiment adapt``: a new head for the shipped model, trained on the business's own rated text.

Reviews with a star rating and tickets with a CSAT answer are weak labels (1-2 negative, 3 neutral,
4-5 positive). The encoder stays frozen: the shipped graph's pooled sentence embedding is the
feature, and a class-balanced multinomial logistic head, pulled towards the shipped head, is fitted
on it (``head.py``). Both models are then scored by the runtime scorer on a held-out part of the
same data, and the new head is written into a copy of the shipped graph with its own manifest and
card (``write_model_dir``).

What is read: customers' reviews and rated tickets in ``events_scored`` whose raw text is still
kept. Erased people are not there (``pulsewire forget`` deletes their rows), text past
``PULSEWIRE_RAW_TEXT_TTL_DAYS`` is skipped even before the store has merged it away, and employees'
text is never read. Nothing of a text leaves this module but counts: no text, no id is printed
or written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import head
from .scorer import SentimentScorer, sha256_file

#: Fewer labelled texts than this in any class and the command refuses: 10 leaves at least 2 of each
#: class in the held-out 20% that the models are compared on. A small business has few unhappy
#: customers in its text retention window (a 20,000-event demo keeps 12 rated negative texts in 90
#: days), so a higher floor would refuse the businesses the command is for. With so few, one text
#: moves a class's recall by tens of points: the bootstrap interval of the gain is then wide, so the
#: verdict is "not clearly better", and the output names the classes with fewer than THIN_HELD_OUT
#: held-out texts. The interval, not this floor, decides whether the adapted model is called better.
MIN_PER_CLASS = 10
THIN_HELD_OUT = 10
HELD_OUT = 0.2
EMBED_BATCH = 32

QUERY = """
SELECT text, toString(kind) AS kind, toString(source) AS source, toDate(occurred_at) AS day,
       if(kind = 'review', rating, csat) AS stars
FROM events_scored FINAL
WHERE text != '' AND employee_id = ''
  AND ((kind = 'review' AND rating IS NOT NULL) OR (kind = 'ticket' AND csat IS NOT NULL))
  AND occurred_at > {kept_since:DateTime64(3, 'UTC')}
"""


class AdaptError(ValueError):
    """A reason the command cannot adapt (one line for the user)."""


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: int  # index into head.LABELS
    kind: str  # review | ticket
    source: str
    day: date


def read_labelled(store, raw_text_ttl_days: int, now: datetime | None = None) -> list[LabelledText]:
    """Customers' rated texts still within the raw-text retention (counted back from ``now``)."""
    kept_since = (now or datetime.now(timezone.utc)) - timedelta(days=int(raw_text_ttl_days))
    rows = store.query_dicts(QUERY, {"kept_since": kept_since})
    out = []
    for r in rows:
        label = head.label_from_stars(r["stars"])
        if label is not None and r["text"].strip():
            out.append(LabelledText(r["text"], label, r["kind"], r["source"], r["day"]))
    return out


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass
class Deduplicated:
    items: list[LabelledText]
    duplicates: int  # copies of a text already kept
    conflicting: int  # distinct texts dropped because their copies carry different labels


def deduplicate(items: Sequence[LabelledText]) -> Deduplicated:
    """One item per text (case and spacing ignored), the earliest; a text rated into two different
    classes is left out (its label says nothing). Sorted by text key, so the order never depends on
    the store's.

    >>> d = date(2026, 1, 1)
    >>> r = deduplicate([LabelledText("Great!", 2, "review", "s", d), LabelledText("great! ", 2, "ticket", "s", d),
    ...                  LabelledText("ok", 1, "review", "s", d), LabelledText("OK", 0, "review", "s", d)])
    >>> [x.text for x in r.items], r.duplicates, r.conflicting
    (['Great!'], 1, 1)
    """
    groups: dict[str, list[LabelledText]] = {}
    for it in items:
        groups.setdefault(_key(it.text), []).append(it)
    kept, dups, conflicts = [], 0, 0
    for key in sorted(groups):
        g = groups[key]
        if len({x.label for x in g}) > 1:
            conflicts += 1
            continue
        kept.append(min(g, key=lambda x: (x.day, x.kind, x.source)))
        dups += len(g) - 1
    return Deduplicated(kept, dups, conflicts)


def class_counts(labels: Sequence[int]) -> dict[str, int]:
    """Texts per class name.

    >>> class_counts([0, 2, 2])
    {'negative': 1, 'neutral': 0, 'positive': 2}
    """
    return {name: int(sum(1 for y in labels if y == i)) for i, name in enumerate(head.LABELS)}


def check_enough(counts: dict[str, int], minimum: int | None = None) -> None:
    """Refuse (AdaptError) when a class has fewer than ``minimum`` labelled texts.

    >>> check_enough({"negative": 60, "neutral": 8, "positive": 300})
    Traceback (most recent call last):
    ...
    pulsewire.models.sentiment.adapt.AdaptError: too few rated texts to adapt and compare: negative 60, neutral 8, positive 300; need at least 10 in each class (neutral short). Reviews with stars and tickets with a CSAT answer count (1-2 negative, 3 neutral, 4-5 positive), while the store keeps their text
    """
    minimum = MIN_PER_CLASS if minimum is None else minimum
    short = [k for k, v in counts.items() if v < minimum]
    if short:
        have = ", ".join(f"{k} {v}" for k, v in counts.items())
        raise AdaptError(f"too few rated texts to adapt and compare: {have}; need at least {minimum} in each class "
                         f"({', '.join(short)} short). Reviews with stars and tickets with a CSAT answer count "
                         "(1-2 negative, 3 neutral, 4-5 positive), while the store keeps their text")


def data_digest(items: Sequence[LabelledText], base_version: str, seed: int) -> str:
    """sha256 over what determines the model: base model, seed, and each (label, text hash), in order.

    >>> d = date(2026, 1, 1); a = [LabelledText("x", 0, "review", "s", d)]
    >>> data_digest(a, "m1", 13) == data_digest(a, "m1", 13), data_digest(a, "m1", 13) == data_digest(a, "m1", 14)
    (True, False)
    """
    h = hashlib.sha256(f"{base_version}\n{seed}\n{HELD_OUT}\n".encode())
    for it in items:
        h.update(f"{it.label}\t{hashlib.sha256(it.text.encode()).hexdigest()}\n".encode())
    return h.hexdigest()


def version_for(items: Sequence[LabelledText], base_version: str, seed: int) -> tuple[str, str]:
    """The adapted model's version and the training data's digest."""
    digest = data_digest(items, base_version, seed)
    return model_version(base_version, max(it.day for it in items), digest), digest


def model_version(base_version: str, newest: date, digest: str) -> str:
    """``<base>+adapt.<newest text's day>.<digest prefix>``: the same data gives the same version.

    >>> model_version("minilm-l4-3c-ft-int8-2026.11.27", date(2026, 10, 30), "ab12cd34ef" + "0" * 54)
    'minilm-l4-3c-ft-int8-2026.11.27+adapt.20261030.ab12cd34ef'
    """
    return f"{base_version}+adapt.{newest:%Y%m%d}.{digest[:10]}"


# ------------------------------------------------------------------------------------- the model
class Embedder:
    """Sentence embeddings from the shipped graph (the head's input) of the first ``max_tokens`` tokens of
    each text. The scorer reads a long text as several windows; the head is trained on the first one only."""

    def __init__(self, model_dir: Path, max_tokens: int, threads: int):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from .head_graph import EMBEDDING_OUTPUT, with_embedding_output

        manifest = json.loads((model_dir / "manifest.json").read_text(encoding="utf-8"))
        self.tokenizer = Tokenizer.from_file(str(model_dir / manifest["tokenizer"]))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.pad_id = int(manifest.get("pad_id", 0))
        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, threads)
        so.log_severity_level = 3
        graph = with_embedding_output((model_dir / manifest["model"]).read_bytes())
        self.session = ort.InferenceSession(graph, sess_options=so, providers=["CPUExecutionProvider"])
        self.output = EMBEDDING_OUTPUT

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out: np.ndarray | None = None
        for start in range(0, len(ids), EMBED_BATCH):
            idx = order[start:start + EMBED_BATCH]
            seq = max(len(ids[i]) for i in idx)
            input_ids = np.full((len(idx), seq), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), seq), dtype=np.int64)
            for r, i in enumerate(idx):
                input_ids[r, :len(ids[i])] = ids[i]
                mask[r, :len(ids[i])] = 1
            emb = self.session.run([self.output], {"input_ids": input_ids, "attention_mask": mask})[0]
            if out is None:
                out = np.empty((len(ids), emb.shape[1]), dtype=np.float32)
            out[idx] = emb
        return out if out is not None else np.zeros((0, 0), np.float32)


@dataclass
class Result:
    version: str
    out: Path
    lam: float
    counts: dict[str, Any]
    shipped: dict[str, float]
    adapted: dict[str, float]
    gain: tuple[float, float, float]  # macro-F1 adapted - shipped, 95% interval
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """Whether the adapted model is better on the held-out texts: better only when the whole 95%
        interval of the macro-F1 gain is above zero."""
        gain, lo, hi = self.gain
        detail = (f"macro-F1 {gain:+.3f} (95% bootstrap interval {lo:+.3f} .. {hi:+.3f}) on "
                  f"{self.counts['held_out']['total']} held-out texts")
        thin = [f"{k} {v}" for k, v in self.counts["held_out"].items() if k != "total" and v < THIN_HELD_OUT]
        if thin:
            detail += f" (few held out: {', '.join(thin)}; only a large difference can show)"
        if lo > 0:
            return f"The adapted model is better: {detail}"
        if hi < 0:
            return f"The adapted model is worse: {detail}"
        return f"The adapted model is not clearly better: {detail}"

    @property
    def better(self) -> bool:
        return self.gain[1] > 0


def adapt(items: Sequence[LabelledText], base_dir: Path, out: Path, *, seed: int = 13, max_tokens: int = 128,
          threads: int = 2, source_summary: dict[str, Any] | None = None, progress=None) -> Result:
    """Fit, compare and write. ``items`` are deduplicated labelled texts; ``out`` must not exist."""
    say = progress or (lambda _msg: None)
    base_manifest = json.loads((base_dir / "manifest.json").read_text(encoding="utf-8"))
    base_version = base_manifest["version"]
    y = np.array([it.label for it in items])
    check_enough(class_counts(y))
    keep, held = head.stratified_split(y, HELD_OUT, seed)
    version, digest = version_for(items, base_version, seed)

    from .head_graph import read_head, with_head

    base_bytes = (base_dir / base_manifest["model"]).read_bytes()
    W0, b0 = read_head(base_bytes)
    say(f"embedding {len(keep)} training texts with the frozen encoder")
    X = Embedder(base_dir, max_tokens, threads)([items[i].text for i in keep])
    choice = head.choose_lambda(X, y[keep], W0, b0, seed)
    W, b = head.fit_head(X, y[keep], W0, b0, choice.lam)

    part = out.parent / f".{out.name}.part-{os.getpid()}"
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    try:
        model_file = base_manifest["model"]
        (part / model_file).write_bytes(with_head(base_bytes, W, b))
        shutil.copy(base_dir / base_manifest["tokenizer"], part / base_manifest["tokenizer"])
        manifest = _manifest(base_manifest, version, part, [model_file, base_manifest["tokenizer"]])
        _write_json(part / "manifest.json", manifest)

        say(f"scoring {len(held)} held-out texts with both models")
        held_texts = [items[i].text for i in held]
        yh = y[held]
        p_shipped = SentimentScorer(base_dir, threads=threads, max_tokens=max_tokens).predict_proba(held_texts)
        p_adapted = SentimentScorer(part, threads=threads, max_tokens=max_tokens, verify=True).predict_proba(held_texts)
        shipped, adapted = head.comparison_figures(yh, p_shipped), head.comparison_figures(yh, p_adapted)
        gain = head.bootstrap_gain(yh, p_shipped.argmax(1), p_adapted.argmax(1), seed)

        counts = {
            "read": (source_summary or {}).get("read", len(items)),
            "duplicates": (source_summary or {}).get("duplicates", 0),
            "conflicting": (source_summary or {}).get("conflicting", 0),
            "used": len(items),
            "train": {**class_counts(y[keep]), "total": int(len(keep))},
            "held_out": {**class_counts(yh), "total": int(len(held))},
            "by_kind": {k: sum(1 for it in items if it.kind == k) for k in sorted({it.kind for it in items})},
            "by_source": {s: sum(1 for it in items if it.source == s) for s in sorted({it.source for it in items})},
            "first_day": min(it.day for it in items).isoformat(),
            "last_day": max(it.day for it in items).isoformat(),
        }
        result = Result(version, out, choice.lam, counts, shipped, adapted, gain)
        manifest["adaptation"] = {
            "base_model": {"version": base_version, "model_sha256": sha256_file(base_dir / model_file)},
            "method": "frozen encoder; new linear head: class-balanced multinomial logistic regression pulled "
                      "towards the shipped head (L2 on the difference), strength chosen by class-balanced "
                      "log-loss on a stratified 25% of the training part",
            "labels_from": "review stars and ticket CSAT: 1-2 negative, 3 neutral, 4-5 positive",
            "seed": seed, "held_out_fraction": HELD_OUT, "max_tokens": max_tokens,
            "regularisation": choice.lam,
            "validation_log_loss": {str(k): round(v, 5) for k, v in choice.losses.items()},
            "training_data_sha256": digest,
            "training_data": counts,
            "metrics_held_out": {"shipped": shipped, "adapted": adapted,
                                 "macro_f1_gain": {"value": gain[0], "ci95": [gain[1], gain[2]],
                                                   "method": "paired bootstrap, 1000 resamples"}},
        }
        result.manifest = manifest
        (part / "CARD.md").write_text(card(result), encoding="utf-8")
        manifest["files"]["CARD.md"] = sha256_file(part / "CARD.md")
        _write_json(part / "manifest.json", manifest)  # last: a directory with a manifest is complete
        os.replace(part, out)
    finally:
        shutil.rmtree(part, ignore_errors=True)
    return result


def _manifest(base: dict[str, Any], version: str, part: Path, files: list[str]) -> dict[str, Any]:
    keep = ("labels", "model", "tokenizer", "inputs", "output", "pad_id", "max_position_embeddings",
            "train_max_tokens", "quantization", "base_encoder")
    m = {"name": "pulsewire-sentiment-adapted", "version": version, **{k: base[k] for k in keep if k in base}}
    m["files"] = {f: sha256_file(part / f) for f in files}
    # The encoder is the base model's, so its licence limits carry over; the new head adds none.
    if isinstance(base.get("licence"), dict):
        m["licence"] = {**base["licence"],
                        "summary": f"encoder of {base.get('version', 'the base model')}: {base['licence'].get('summary', '')}"}
    return m


def _write_json(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")


FIGURES = (("macro_f1", "3-class macro-F1"), ("accuracy", "accuracy"), ("neutral_recall", "neutral recall"),
           ("neutral_polar_rate", "neutral texts with |score| > 0.5"))


def comparison_table(shipped: dict[str, float], adapted: dict[str, float]) -> list[str]:
    """Shipped and adapted figures side by side.

    >>> print("\\n".join(comparison_table({"macro_f1": .5, "accuracy": .6, "neutral_recall": .1,
    ...     "neutral_polar_rate": .7}, {"macro_f1": .6, "accuracy": .7, "neutral_recall": .4, "neutral_polar_rate": .3})))
    held-out figure                     shipped  adapted   change
    3-class macro-F1                      0.500    0.600   +0.100
    accuracy                              0.600    0.700   +0.100
    neutral recall                        0.100    0.400   +0.300
    neutral texts with |score| > 0.5      0.700    0.300   -0.400
    """
    lines = [f"{'held-out figure':34} {'shipped':>8} {'adapted':>8} {'change':>8}"]
    for key, name in FIGURES:
        a, b = shipped[key], adapted[key]
        lines.append(f"{name:34} {a:8.3f} {b:8.3f} {b - a:+8.3f}")
    return lines


def card(r: Result) -> str:
    c = r.counts
    a = r.manifest["adaptation"]
    per = lambda d: ", ".join(f"{k} {d[k]}" for k in head.LABELS)  # noqa: E731
    return f"""# Adapted sentiment model `{r.version}`

## What it is
The shipped model `{a['base_model']['version']}` with a new linear head, trained by `pulsewire sentiment adapt`
on this business's own rated text. The encoder, tokenizer, inputs and outputs are the shipped ones: the
worker loads this directory with `PULSEWIRE_MODEL_DIR` and every score it stores carries this version
in `model_version`. Roll back by unsetting `PULSEWIRE_MODEL_DIR` (or pointing it at another model
directory) and restarting the worker.

## Data
Customers' reviews with a star rating and tickets with a CSAT answer (1-2 negative, 3 neutral, 4-5 positive)
whose raw text the store still kept, {c['first_day']} to {c['last_day']}. Employees' text is never used;
erased people's rows are no longer in the store. {c['read']} rated texts were read; {c['duplicates']} repeated
copies and {c['conflicting']} texts rated into different classes were left out; {c['used']} were used
(by kind: {', '.join(f'{k} {v}' for k, v in c['by_kind'].items())}).
A seeded (seed {a['seed']}), stratified {1 - a['held_out_fraction']:.0%} / {a['held_out_fraction']:.0%} split:
train {per(c['train'])}; held out {per(c['held_out'])}.
Only counts are recorded here and in `manifest.json`: no text, no id.

## Training
Frozen encoder; the head is a class-balanced multinomial logistic regression pulled towards the shipped
head (L2 penalty on the difference, strength {r.lam:g}, chosen by class-balanced log-loss on a stratified
25% of the training part; the held-out part was not used to choose anything).

## Comparison on the held-out part
```
{chr(10).join(comparison_table(r.shipped, r.adapted))}
```
{r.verdict}. {"Deploy it with `PULSEWIRE_MODEL_DIR`." if r.better else "Keep the shipped model."}

## Limits
* The labels are weak: a star rating or CSAT rates the whole experience, not the sentence; a 3 is not
  always neutral text. The figures above measure agreement with these ratings.
* Held-out texts come from the same business and period as the training texts, so they flatter the
  adapted model for text unlike it (new products, other channels, employees' messages).
* Only the first {a['max_tokens']} tokens of each text were read when training.
* The shipped model's own limits (English only, sarcasm, mixed sentiment) remain: see its model card.
"""
