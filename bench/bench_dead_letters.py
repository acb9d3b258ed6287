"""Dead-letter rows per second: what redaction costs the dead-letter sink (prints figures; never pass/fail).

    python bench/bench_dead_letters.py [--repeat 5]

``dead_letter_row`` on the generator's deliberately bad records (one per fault), for a personal
source (redacted: keyed hash, field names, detail scrubbed of every value) and, as the baseline in
the same run on the same records, for a source that declares no personal field (the payload is
stored as is; the keyed hash and field names are still computed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_learners import machine  # noqa: E402

from pulsewire.schemas.dead_letter import DeadLetter, Reason  # noqa: E402
from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation  # noqa: E402
from pulsewire.streams.connectors.generator_faults import FAULTS, make_bad  # noqa: E402
from pulsewire.streams.privacy import KeyRing  # noqa: E402
from pulsewire.streams.rows import dead_letter_row  # noqa: E402


def records(n: int) -> list[bytes]:
    good = [r for r in SmbSimulation(GeneratorConfig(seed=11)).records(limit=n) if isinstance(r, dict)]
    out = []
    for i, rec in enumerate(good):
        bad = make_bad(rec, FAULTS[i % len(FAULTS)], "filler")
        out.append(bad if isinstance(bad, bytes) else json.dumps(bad).encode())
    return out


def rate(dls: list[DeadLetter], keys: KeyRing, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for dl in dls:
            dead_letter_row(dl, keys)
        best = min(best, time.perf_counter() - t0)
    return len(dls) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    keys = KeyRing(b"bench-key-0123456789abcdef")
    raws = records(args.records)
    detail = "customer_id: Input should be a valid string; occurred_at: 'not a time'"
    personal = [DeadLetter.make("events.review", r, Reason.WRONG_TYPE, detail) for r in raws]
    plain = [DeadLetter.make("events.review", r, Reason.WRONG_TYPE, detail, personal_fields=[]) for r in raws]
    print(machine())
    print(f"{len(raws)} bad generator records (faults: {', '.join(FAULTS)}), mean "
          f"{sum(map(len, raws)) / len(raws):.0f} bytes, best of {args.repeat}")
    base, red = rate(plain, keys, args.repeat), rate(personal, keys, args.repeat)
    print(f"baseline (payload kept):  {base:10,.0f} rows/s")
    print(f"redacted (personal):      {red:10,.0f} rows/s  ({red / base:.2f} x baseline)")


if __name__ == "__main__":
    main()
