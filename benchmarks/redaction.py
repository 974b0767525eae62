"""Redaction: speed, recall and false positives of the ways to strip personal data from prompt text.

    .venv/bin/python benchmarks/redaction.py [--per-kind 2000] [--clean 20000] [--out benchmarks/results/redaction.json]

A generated corpus (fixed seed) of customer-written sentences, each carrying one piece of personal data
in one of many formats (emails; international and national phone numbers with spaces, dots, dashes and
parentheses; Luhn-valid card numbers of 13-19 digits; mod-97-valid IBANs with and without spaces), and
of ordinary marketing text that must stay as it is (prices, dates, ISO timestamps, order numbers,
percentages, "2 for 1", profile, campaign and segment ids, counts, and the numbers objectives carry:
age bands, hour lists, splits, budget ranges, offer codes, labelled ten-digit counts). The same
personal data is also written disguised: no-break and figure spaces, non-breaking hyphens and en
dashes, full-width, Arabic-Indic and Devanagari digits, zero-width characters and accents in
addresses, a full-width '@', lower-case IBANs.

* recall: share of the personal data that no longer appears in the output, per kind (plain and
  disguised);
* false positives: share of the ordinary sentences that the redactor changed;
* throughput: sentences per second over the ordinary text (what almost every tool result is) and
  over the sentences carrying personal data.

Compared, when importable: `cdp.redact.redact` (the product's patterns with checksums and
libphonenumber), libphonenumber's own `PhoneNumberMatcher` (phones only, region US and DE), and
scrubadub's default scrubber. presidio-analyzer needs a spaCy language model, which cannot be
installed here from its publisher (see BENCHMARKS.md), so it is reported as not measured.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import string
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import phonenumbers

from cdp.redact import redact

TEMPLATES = [
    "Hi, please call me back on {} about my refund.",
    "Customer wrote: my new contact is {} (since last week).",
    "Refund to {} please, order 100234 still not arrived!",
    "{}",
    "Can't log in. Reach me at {}, thanks",
    "Charged twice on {}; ticket opened 2026-11-23T09:00:00Z",
]
WORDS = [
    "refund",
    "order",
    "delivery",
    "late",
    "parcel",
    "account",
    "password",
    "voucher",
    "discount",
    "holiday",
    "shoes",
    "size",
]


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _email(r: random.Random) -> str:
    first = "".join(r.choices(string.ascii_lowercase, k=r.randint(2, 10)))
    last = "".join(r.choices(string.ascii_lowercase + string.digits, k=r.randint(2, 10)))
    sep = r.choice(["", ".", "_", "+", "-"])
    domain = r.choice(["example.com", "mail.example.co.uk", "web.de", "corp-mail.io", "x.org"])
    return f"{first.capitalize() if r.random() < 0.2 else first}{sep}{last}@{domain}"


_REGIONS = ["US", "GB", "DE", "FR", "NL", "ES", "IT", "AU", "CA", "BR", "IN"]
_FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
]


def _phone(r: random.Random) -> str:
    region = r.choice(_REGIONS)
    kind = r.choice([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
    example = phonenumbers.example_number_for_type(region, kind)
    national = str(example.national_number)
    tail = "".join(r.choices(string.digits, k=3))
    number = phonenumbers.parse(f"+{example.country_code}{national[:-3]}{tail}", None)
    text = phonenumbers.format_number(number, r.choice(_FORMATS))
    sep = r.choice([" ", " ", "-", ".", "/"])
    return text.replace(" ", sep) if sep != "/" else text.replace(" ", "/", 1)


def _card(r: random.Random) -> str:
    length = r.randint(13, 19)
    digits = _luhn_complete(r.choice("3456") + "".join(r.choices(string.digits, k=length - 2)))
    sep = r.choice(["", " ", "-"])
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


_IBAN_LENGTHS = {"DE": 22, "GB": 22, "FR": 27, "NL": 18, "ES": 24, "IT": 27, "NO": 15, "BE": 16, "CH": 21}


def _iban(r: random.Random) -> str:
    country = r.choice(sorted(_IBAN_LENGTHS))
    size = _IBAN_LENGTHS[country] - 4
    bank = "".join(r.choices(string.ascii_uppercase, k=4)) if country in ("GB", "NL") else ""
    bban = bank + "".join(r.choices(string.digits, k=size - len(bank)))
    check = 98 - int("".join(str(int(c, 36)) for c in bban + country + "00")) % 97
    iban = f"{country}{check:02d}{bban}"
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if r.random() < 0.5 else iban


_SPACES = ["\u00a0", "\u202f", "\u2007", "  "]
_DASHES = ["\u2011", "\u2013", "\u2212"]
_ZEROS = [0xFF10, 0x0660, 0x0966]  # full-width, Arabic-Indic and Devanagari zero


def _disguise(kind: str, value: str, r: random.Random) -> str:
    """`value` with look-alike characters a keyboard or a copy-paste produces (same meaning)."""
    if kind == "email":
        local, domain = value.split("@")
        cut = r.randint(1, len(local))
        local = local[:cut] + r.choice(["\u200b", "\u2060", "", "\u00f6"]) + local[cut:]
        return local + r.choice(["@", "\uff20"]) + r.choice(["", "m\u00fcller-"]) + domain
    if kind == "iban" and r.random() < 0.5:
        value = value.lower()
    value = value.replace(" ", r.choice(_SPACES)).replace("-", r.choice(_DASHES))
    if r.random() < 0.5:
        zero = r.choice(_ZEROS)
        value = "".join(chr(zero + int(c)) if c.isdigit() else c for c in value)
    return value


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "email": _email,
    "phone": _phone,
    "card": _card,
    "iban": _iban,
}


def _clean(r: random.Random) -> str:
    """An ordinary sentence from a campaign brief, a tool result or a report: nothing to redact."""
    n = r.randint(0, 10**7)
    pieces = [
        f"p{r.randint(0, 9_999_999):07d}",
        f"cmp_{''.join(r.choices('0123456789abcdef', k=12))}",
        f"seg_{''.join(r.choices('0123456789abcdef', k=16))}",
        f"order #{r.randint(1000, 999_999_999)}",
        f"ORD-{r.randint(10**6, 10**12)}",
        f"€{r.randint(1, 99_999):,}.{r.randint(0, 99):02d}",
        f"${r.randint(1, 9999)}.{r.randint(0, 99):02d}",
        f"{r.randint(1, 90)}% off",
        f"{r.randint(1, 4)} for {r.randint(1, 3)}",
        f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
        f"2026-11-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z",
        f"{r.randint(1, 28):02d}.{r.randint(1, 12):02d}.2026",
        f"{r.randint(0, 23):02d}:00-{r.randint(0, 23):02d}:00",
        f"{n:,} customers",
        f"{n} events",
        f"conversion {r.random():.6f}",
        f"lifetime value {r.randint(0, 99999)}.{r.randint(0, 9)}",
        f"3 per {r.randint(1, 30)} days",
        # Numbers in objectives and task inputs that a loose phone pattern would take.
        "ages " + " ".join(f"{a}-{a + r.randint(4, 9)}" for a in range(18, 18 + 10 * r.randint(2, 4), 10)),
        "sms hours " + " ".join(str(h) for h in range(r.randint(7, 9), r.randint(17, 21))),
        f"split of {r.randint(1, 9)}000/{r.randint(1, 9)}000",
        f"budget {r.randint(1, 3)}000-{r.randint(4, 6)}000-{r.randint(7, 9)}000 EUR",
        "offer codes " + "-".join(str(r.randint(10, 99)) for _ in range(r.randint(3, 5))),
        f"order 2026-{r.randint(0, 999999):06d}-{r.randint(10, 99)}",
        f"count: {r.randint(2 * 10**9, 9 * 10**9)}",
    ]
    chosen = r.sample(pieces, 3)
    words = r.sample(WORDS, 3)
    return f"{words[0]} {chosen[0]}, {words[1]} {chosen[1]} and {words[2]} {chosen[2]}."


def build_corpus(
    per_kind: int, clean: int, seed: int = 12
) -> tuple[list[tuple[str, str, str]], list[str], list[tuple[str, str, str]]]:
    """The plain personal data, the ordinary sentences, and the same personal data disguised."""
    r = random.Random(seed)
    pii = []
    for kind, gen in GENERATORS.items():
        for _ in range(per_kind):
            value = gen(r)
            pii.append((kind, value, r.choice(TEMPLATES).format(value)))
    ordinary = [_clean(r) for _ in range(clean)]
    disguised = []
    for kind, value, _ in pii:
        value = _disguise(kind, value, r)
        disguised.append((kind, value, r.choice(TEMPLATES).format(value)))
    return pii, ordinary, disguised


# ------------------------------------------------------------------------------------------ systems


def _phonenumbers_matcher() -> Callable[[str], str]:
    def run(text: str) -> str:
        for region in ("US", "DE"):
            spans = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(text, region)]
            for start, end in reversed(spans):
                text = text[:start] + "[phone]" + text[end:]
        return text

    return run


def _scrubadub() -> Callable[[str], str] | str:
    try:
        import scrubadub  # type: ignore[import-not-found]
    except ImportError as exc:
        return f"not installed ({exc.name})"
    scrubber = scrubadub.Scrubber()
    return scrubber.clean


def _presidio() -> Callable[[str], str] | str:
    try:
        from presidio_analyzer import AnalyzerEngine  # type: ignore[import-not-found]
        from presidio_anonymizer import AnonymizerEngine  # type: ignore[import-not-found]
    except ImportError as exc:
        return f"not installed ({exc.name}); it also needs a spaCy model not published on PyPI"
    try:
        analyzer, anonymizer = AnalyzerEngine(), AnonymizerEngine()
    except Exception as exc:  # the spaCy model is missing
        return f"cannot start: {type(exc).__name__}: {exc}"[:200]

    def run(text: str) -> str:
        return anonymizer.anonymize(
            text=text, analyzer_results=analyzer.analyze(text=text, language="en")
        ).text

    return run


SYSTEMS: dict[str, Callable[[], Callable[[str], str] | str]] = {
    "cdp.redact (patterns + checksums + libphonenumber)": lambda: redact,
    "phonenumbers.PhoneNumberMatcher (phones only, US+DE)": _phonenumbers_matcher,
    "scrubadub 2 default scrubber": _scrubadub,
    "presidio-analyzer": _presidio,
}


def _rate(fn: Callable[[str], str], texts: list[str]) -> float:
    start = time.perf_counter()
    for t in texts:
        fn(t)
    return len(texts) / max(time.perf_counter() - start, 1e-9)


def _recall(fn: Callable[[str], str], pii: list[tuple[str, str, str]]) -> dict[str, float]:
    hits: dict[str, list[int]] = {kind: [0, 0] for kind in GENERATORS}
    for kind, value, text in pii:
        out = fn(text)
        digits = re.sub(r"\D", "", value)
        gone = value not in out and (kind == "email" or digits not in re.sub(r"\D", "", out))
        hits[kind][0] += gone
        hits[kind][1] += 1
    rates = {k: round(h / n, 4) for k, (h, n) in hits.items()}
    rates["all"] = round(sum(h for h, _ in hits.values()) / sum(n for _, n in hits.values()), 4)
    return rates


def measure(
    fn: Callable[[str], str],
    pii: list[tuple[str, str, str]],
    clean: list[str],
    disguised: list[tuple[str, str, str]],
) -> dict[str, Any]:
    recall = _recall(fn, pii)
    changed = [t for t in clean if fn(t) != t]
    return {
        "recall": {k: v for k, v in recall.items() if k != "all"},
        "recall_all": recall["all"],
        "recall_disguised": _recall(fn, disguised),
        "false_positive_rate": round(len(changed) / len(clean), 5),
        "false_positive_examples": changed[:3],
        "clean_per_s": round(_rate(fn, clean)),
        "pii_per_s": round(_rate(fn, [t for _, _, t in pii])),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-kind", type=int, default=2000, help="sentences per kind of personal data")
    ap.add_argument("--clean", type=int, default=20000, help="ordinary sentences")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "redaction.json")
    args = ap.parse_args(argv)
    pii, clean, disguised = build_corpus(args.per_kind, args.clean)
    results: dict[str, Any] = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "corpus": {"pii": len(pii), "clean": len(clean), "disguised": len(disguised)},
        "systems": {},
    }
    for name, make in SYSTEMS.items():
        fn = make()
        if isinstance(fn, str):
            results["systems"][name] = {"skipped": fn}
            print(f"{name}: {fn}")
            continue
        row = measure(fn, pii, clean, disguised)
        results["systems"][name] = row
        print(
            f"{name}: recall {row['recall']} (all {row['recall_all']}), disguised "
            f"{row['recall_disguised']}, false positives "
            f"{row['false_positive_rate']:.3%}, {row['clean_per_s']:,} clean/s, {row['pii_per_s']:,} pii/s"
        )
        for example in row["false_positive_examples"]:
            print(f"    changed: {example!r}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results


if __name__ == "__main__":
    main()
