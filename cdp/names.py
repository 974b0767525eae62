"""The names of countries and languages that files and objectives are read with, and how an objective
reads a country.

One table per process, built at first use from `cdp.places` (the curated names planning has always
read) and pycountry (ISO 3166-1 and ISO 639 with their gettext translations): folded name -> code,
strongest source first. `cdp.normalize` turns a file's values into codes with it; the offline reader
(`country_at`) and the check of a model's interpretation (`country_mentions`) read objectives with
it, so a name means the same country in both.
"""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pycountry

from cdp import places

#: Locales whose country and language names are read besides English: the EU's languages and the
#: largest others. pycountry ships ~160; the rarely used ones add names with mistakes in them (two
#: countries under one name), and each adds words an English objective could trip over. (Its
#: Vietnamese names are written syllable by syllable: "to go" is Togo there.)
NAME_LOCALES = re.findall(
    r"\S+",
    "bg cs da de el es et fi fr ga hr hu it lt lv mt nl pl pt pt_BR ro sk sl sv nb_NO tr ru uk ja ko zh_CN "
    "zh_TW ar he hi id th",
)
#: Most words (and punctuation between them) a name spans in an objective: the longest name has 10
#: words ("Regione amministrativa speciale di Hong Kong ...").
MAX_NAME_WORDS = 12
_LOCALES = Path(pycountry.__file__).with_name("locales")
#: Sources of names, strongest first: `cdp.places` (and `LANGUAGE_ALIASES`), ISO's English names,
#: each language's name for itself ("Deutsch"), then the translations of `NAME_LOCALES`.
CURATED, ISO_ENGLISH, OWN, TRANSLATED = 0, 1, 2, 3

#: Language names ISO 639 spells otherwise ("Modern Greek (1453-)", "Panjabi"), and codes Java
#: and old systems still write (iw, in, ji: ISO 639 renamed them).
LANGUAGE_ALIASES: dict[str, str] = dict(
    re.findall(
        r"(\w+)=(\w+)",
        "greek=el farsi=fa punjabi=pa pashto=ps khmer=km kyrgyz=ky castilian=es flemish=nl moldavian=ro "
        "mandarin=zh uyghur=ug sinhalese=si bokmal=nb iw=he in=id ji=yi jw=jv",
    )
)

# --------------------------------------------------------------------------------------- text


#: Combining diacritics (U+0300-U+036F): the accents of Latin, Greek and Cyrillic letters. Marks of
#: other scripts stay: a kana's voicing mark or a Devanagari sign makes another word.
_ACCENTS = re.compile("[\u0300-\u036f]+")


def _strip_accents(text: str) -> str:
    return unicodedata.normalize("NFC", _ACCENTS.sub("", unicodedata.normalize("NFKD", text)))


_DROPPED = str.maketrans("", "", ".'’`´ʼ")
_SEPARATORS = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """The key a name is looked up by: case, accents and punctuation do not count.

    Dots and apostrophes join ("U.S.A." is "usa", "Côte d'Ivoire" is "cote divoire"), other
    punctuation separates words, "&" is "and" and "St" in a name is "Saint" ("ST" alone is a code).
    """
    text = text.casefold().replace("&", " and ").translate(_DROPPED)
    if text.isascii():
        words = _SEPARATORS.split(text)
    else:  # a Devanagari or Thai vowel sign is part of its word, not a space
        text = _strip_accents(text)
        words = "".join(c if c.isalnum() or unicodedata.category(c)[0] == "M" else " " for c in text).split()
    words = [w for w in words if w]
    return " ".join("saint" if w == "st" and len(words) > 1 else w for w in words)


def _variants(name: str) -> Iterable[str]:
    """A name as ISO writes it, without its parenthesis ("Holy See (Vatican City State)"), and in
    reading order ("Korea, Republic of" -> "Republic of Korea", "Virgin Islands, British" -> "British
    Virgin Islands"; "Taiwan, Province of China" stays as it is)."""
    yield name
    bare = re.sub(r"\s*\([^)]*\)", "", name).strip()
    if bare != name:
        yield bare
    head, comma, tail = bare.partition(",")
    tail = tail.strip()
    if comma and tail and (re.search(r"\bof(?: the)?$", tail) or " " not in tail):
        yield f"{tail} {head.strip()}"


def _catalog(locale: str, domain: str) -> gettext.NullTranslations:
    path = _LOCALES / locale / "LC_MESSAGES" / f"{domain}.mo"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        return gettext.GNUTranslations(handle)


def _names_of(record: object, fields: Sequence[str]) -> list[str]:
    return [v for f in fields if isinstance(v := getattr(record, f, None), str) and v]


@dataclass
class _Names:
    """Folded name -> code. A stronger source (lower number) overrides a weaker one, and a name two
    codes claim within one source means neither (unless a stronger source names it)."""

    keys: dict[str, str] = field(default_factory=dict)
    source: dict[str, int] = field(default_factory=dict)
    spellings: dict[str, set[str]] = field(default_factory=dict)
    clashes: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, code: str, source: int) -> None:
        key = fold(name)
        if not key or self.clashes.get(key, 99) <= source:
            return
        if source == TRANSLATED and len(key) < 4 and key.isascii():  # "Čad", "Man": words, not names
            return
        held = self.source.get(key)
        if held is None or (source < held and self.keys[key] != code):
            self.keys[key], self.source[key], self.spellings[key] = code, source, {name}
        elif self.keys[key] == code:
            self.source[key] = min(held, source)
            self.spellings[key].add(name)
        elif source == held:
            self.clashes[key] = source
            del self.keys[key], self.source[key], self.spellings[key]

    def exact(self) -> dict[str, str]:
        """Every spelling as sources write it (and in lower, upper and title case): the one-lookup path."""
        return {
            s: self.keys[key]
            for key, names in self.spellings.items()
            for name in names
            for s in (name, name.lower(), name.upper(), name.title())
        }


# ----------------------------------------------------------------------------------- countries


@dataclass(frozen=True, slots=True)
class CountryName:
    """A country a name means, and how an objective may use the name: only capitalised (`capital`:
    "Chad", not "chad"), or not at all (`objective` False: "Suede" is Sweden only in a file)."""

    code: str
    capital: bool
    objective: bool = True


@dataclass(frozen=True)
class CountryTables:
    """Everything a country value is read with, built once (`country_tables`)."""

    names: dict[str, CountryName]  # folded name -> country
    codes: dict[str, str]  # folded alpha-2, alpha-3 or alias -> alpha-2
    exact: dict[str, str]  # spellings as written -> alpha-2 (checked first)
    hints: dict[str, str]  # adjectives, regions and cities -> the country they point to
    english: tuple[str, ...]  # folded English names and codes, the choices for a suggestion
    first_words: frozenset[str]  # first word of every name (most words start none)
    display: dict[str, str]


def _display(country: object) -> str:
    """A name to show: the common one ("Iran"), else ISO's in reading order."""
    shown = next(
        (n for n in _names_of(country, ("common_name", "name", "official_name")) if "," not in n), None
    )
    shown = shown or list(_variants(country.name))[-1]  # type: ignore[attr-defined]
    return "the " + shown[4:] if shown.startswith("The ") else shown  # read inside a sentence


@functools.cache
def country_tables() -> CountryTables:
    """The country tables of this process (~0.4 s to build: 37 gettext catalogs, ~12,000 names)."""
    names = _Names()
    for code, (spellings, _) in places.COUNTRIES.items():
        for name in spellings:
            names.add(name, code, CURATED)
    for name, code in places.COUNTRY_ALSO_CALLED.items():
        names.add(name, code, CURATED)
    for code, name in places.COUNTRY_CODES_UNASSIGNED.items():
        names.add(name, code, CURATED)
    fields = ("name", "common_name", "official_name")
    for country in pycountry.countries:
        for name in _names_of(country, fields):
            for variant in _variants(name):
                names.add(variant, country.alpha_2, ISO_ENGLISH)
    for locale in NAME_LOCALES:
        catalog = _catalog(locale, "iso3166-1")
        for country in pycountry.countries:
            for name in _names_of(country, fields):
                for variant in _variants(catalog.gettext(name)):
                    names.add(variant, country.alpha_2, TRANSLATED)
    need_capital = set(places.COUNTRY_NAMES_NEED_CAPITAL)
    not_read = set(places.COUNTRY_NAMES_NOT_IN_OBJECTIVES)
    table = {
        key: CountryName(
            code,
            capital=" " not in key and (key in need_capital or names.source[key] != CURATED),
            objective=key not in not_read,
        )
        for key, code in names.keys.items()
    }
    codes = {alias.lower(): code for alias, code in places.COUNTRY_CODES_UPPER.items()}
    codes |= {code.lower(): code for code in places.COUNTRY_CODES_UNASSIGNED}
    for country in pycountry.countries:
        codes[country.alpha_2.lower()] = codes[country.alpha_3.lower()] = country.alpha_2
    exact = names.exact()
    exact.update({c: code for c, code in codes.items()} | {c.upper(): code for c, code in codes.items()})
    hints = {fold(a): code for code, (_, adjectives) in places.COUNTRIES.items() for a in adjectives}
    hints |= {fold(r): code for r, code in places.SUBNATIONAL.items()}
    hints |= {fold(city): code for city, code in places.CITIES.items()}
    english = tuple(k for k in table if names.source[k] != TRANSLATED)
    display = {c.alpha_2: _display(c) for c in pycountry.countries} | places.COUNTRY_CODES_UNASSIGNED
    display |= places.COUNTRY_DISPLAY
    first = frozenset(k.split()[0] for k in table)
    return CountryTables(table, codes, exact, hints, english, first, display)


def country_display(code: str) -> str:
    """The name questions show for an alpha-2 code ("the United Kingdom", "Iran"), else the code."""
    return country_tables().display.get(code, code)


def country_phrases() -> dict[str, CountryName]:
    """Every country name files and objectives read, folded (`fold`), with its code and guard."""
    return dict(country_tables().names)


def objective_country(words: str) -> str | None:
    """The country an objective's words name, or None; the words are one slice of the objective.

    Codes count only in capitals and only as the aliases planners have always read
    (`places.COUNTRY_CODES_UPPER`: "UK", "U.S.", "UAE"), since most codes are also words or
    abbreviations ("IN", "IT", "NO", "AM", "PR", "TV"); a file reads every code. A one-word name that
    is an ordinary word ("turkey", "chad", "jersey"), and every one-word name beyond the curated
    table, counts only when written with a capital (or in a script without case: "日本").
    """
    letters = "".join(ch for ch in words if ch.isalnum())
    if len(letters) <= 3 and letters.isupper() and letters in places.COUNTRY_CODES_UPPER:
        return places.COUNTRY_CODES_UPPER[letters]
    entry = country_tables().names.get(fold(words))
    if entry is None or not entry.objective or (entry.capital and words[:1].islower()):
        return None
    return entry.code


def country_at(text: str, spans: Sequence[tuple[int, int]], i: int) -> tuple[int, str] | None:
    """(words, code) of the longest country name starting at word `i` of `text` (`spans`: each
    word's start and end), read as `objective_country` reads it; None if none starts there."""
    start = spans[i][0]
    first = text[start : spans[i][1]]
    if fold(first) not in country_tables().first_words and not (len(first) <= 3 and first.isupper()):
        return None
    for n in range(min(MAX_NAME_WORDS, len(spans) - i), 0, -1):
        last = spans[i + n - 1]
        if not text[last[0] : last[1]][-1:].isalnum():  # "Germany," is "Germany" and a comma
            continue
        code = objective_country(text[start : last[1]])
        if code is not None:
            return n, code
    return None


_WORD = re.compile(r"[^\W_]+")


def country_mentions(text: str) -> list[tuple[int, int, str]]:
    """(start, end, code) of every country an objective names, longest name first, left to right."""
    spans = [m.span() for m in _WORD.finditer(text)]
    found: list[tuple[int, int, str]] = []
    i = 0
    while i < len(spans):
        hit = country_at(text, spans, i)
        if hit is not None:
            found.append((spans[i][0], spans[i + hit[0] - 1][1], hit[1]))
        i += hit[0] if hit else 1
    return found


# ----------------------------------------------------------------------------------- languages


@dataclass(frozen=True)
class LanguageTables:
    """Everything a language value is read with, built once (`language_tables`)."""

    names: dict[str, str]  # folded name -> alpha-2
    codes: dict[str, str]  # alpha-2, alpha-3, bibliographic or old code -> alpha-2
    exact: dict[str, str]
    english: tuple[str, ...]
    display: dict[str, str]


@functools.cache
def language_tables() -> LanguageTables:
    """The tables of the 184 languages ISO 639-1 codes: English names, their own, translations."""
    coded = [lang for lang in pycountry.languages if hasattr(lang, "alpha_2")]
    names = _Names()
    for name, code in LANGUAGE_ALIASES.items():
        if len(name) > 3:
            names.add(name, code, CURATED)
    fields = ("name", "common_name", "inverted_name")
    for lang in coded:
        for name in _names_of(lang, fields):
            for variant in _variants(name):
                names.add(variant, lang.alpha_2, ISO_ENGLISH)
    for locale in NAME_LOCALES:  # each catalog also holds its own language's name for itself
        catalog = _catalog(locale, "iso639-3")
        own = locale.split("_")[0]
        for lang in coded:
            for variant in _variants(catalog.gettext(lang.name)):
                names.add(variant, lang.alpha_2, OWN if lang.alpha_2 == own else TRANSLATED)
    codes = {a: c for a, c in LANGUAGE_ALIASES.items() if len(a) <= 3}
    for lang in coded:
        for code in _names_of(lang, ("alpha_2", "alpha_3", "bibliographic")):
            codes[code] = lang.alpha_2
    exact = names.exact() | codes | {c.upper(): code for c, code in codes.items()}
    english = tuple(k for k in names.keys if names.source[k] != TRANSLATED)
    display = {lang.alpha_2: list(_variants(lang.name))[-1] for lang in coded}
    return LanguageTables(names.keys, codes, exact, english, display)


@functools.cache
def three_letter_only() -> dict[str, str]:
    """Folded names and codes of the ~7,700 languages without an ISO 639-1 code (built at the first
    refusal: a lookup in pycountry itself scans them all)."""
    found: dict[str, str] = {}
    for lang in pycountry.languages:
        if not hasattr(lang, "alpha_2"):
            for name in _names_of(lang, ("alpha_3", "name", "common_name", "inverted_name")):
                found.setdefault(fold(name), lang.alpha_3)
    return found
