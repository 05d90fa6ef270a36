"""Every word a report shows, in Polish and English, and the locale-aware formats of numbers.

The operator is Polish and some partners are not, so every label, title and note of a report
exists in both languages; a test checks that each key has both and that both use the same
placeholders. Numbers and dates are formatted with Babel's CLDR data (Polish: ``12 345,6`` with a
no-break space; English: ``12,345.6``), so that nothing here hand-rolls a locale.
"""

from __future__ import annotations

import datetime as dt
import enum
import string
from numbers import Real

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from privstats.exceptions import ParameterError


class Language(enum.StrEnum):
    """The languages a report can be rendered in."""

    PL = "pl"
    EN = "en"

    @classmethod
    def parse(cls, value: object) -> Language:
        try:
            return cls(str(value))
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise ParameterError(f"parameter 'language' must be one of {choices}") from None


MESSAGES: dict[str, dict[Language, str]] = {
    "report.partner": {Language.PL: "Partner", Language.EN: "Partner"},
    "report.partner.all": {Language.PL: "wszyscy partnerzy", Language.EN: "all partners"},
    "report.period": {Language.PL: "Okres", Language.EN: "Period"},
    "report.generated": {Language.PL: "Wygenerowano", Language.EN: "Generated"},
    "report.contents": {Language.PL: "Spis treści", Language.EN: "Contents"},
    "report.methodology.title": {
        Language.PL: "Metodologia i ochrona danych",
        Language.EN: "Methodology and data protection",
    },
    "report.methodology.text": {
        Language.PL: (
            "Liczby pochodzą z dzienników serwera WWW i z systemu CRM. Zanim cokolwiek zostało "
            "policzone, adresy IP, nazwy, adresy e-mail i inne dane identyfikujące zastąpiono "
            "kluczowanymi pseudonimami albo uogólnionymi wartościami (np. rodzina przeglądarki, "
            "domena odsyłająca, szablon ścieżki). Raport zawiera wyłącznie zestawienia zbiorcze."
        ),
        Language.EN: (
            "The figures come from the web server's access logs and from the CRM. Before anything "
            "was counted, IP addresses, names, e-mail addresses and other identifying data were "
            "replaced by keyed pseudonyms or generalised values (e.g. browser family, referring "
            "domain, path template). The report holds aggregate summaries only."
        ),
    },
    "report.disclosure.threshold": {
        Language.PL: (
            "Komórki, do których przyczyniło się mniej niż {threshold} osób, są ukryte i "
            "oznaczone jako „{marker}”. Liczymy osoby, nie żądania: jedna osoba z tysiącem "
            "odsłon to jedna osoba."
        ),
        Language.EN: (
            "Cells with fewer than {threshold} persons are hidden and shown as “{marker}”. We "
            "count persons, not requests: one person with a thousand page views is one person."
        ),
    },
    "report.disclosure.secondary": {
        Language.PL: (
            "Niektóre inne komórki również są ukryte, aby ukrytej wartości nie dało się "
            "odtworzyć z sum i pozostałych komórek; dlatego oznaczenie nie mówi, czy komórka "
            "jest mała."
        ),
        Language.EN: (
            "Some other cells are hidden as well, so that no hidden value can be worked out from "
            "the totals and the other cells; the marker therefore does not tell whether a cell "
            "is small."
        ),
    },
    "report.disclosure.dominance": {
        Language.PL: (
            "Komórka wartości (np. bajtów lub czasu odpowiedzi) jest też ukryta, gdy "
            "{nk_n} największych osób daje ponad {nk_k}% jej sumy albo gdy jedną osobę można "
            "oszacować z dokładnością lepszą niż {p_ratio}%."
        ),
        Language.EN: (
            "A magnitude cell (e.g. bytes or response time) is also hidden when its {nk_n} "
            "largest persons make up more than {nk_k}% of its total, or when one person's value "
            "could be estimated to within {p_ratio}%."
        ),
    },
    "legend.title": {Language.PL: "Oznaczenia", Language.EN: "Legend"},
    "legend.hidden": {
        Language.PL: "komórka ukryta w celu ochrony prywatności",
        Language.EN: "cell hidden to protect privacy",
    },
    "legend.missing": {
        Language.PL: "brak danych (nic do policzenia)",
        Language.EN: "no data (nothing to count)",
    },
    "legend.below": {
        Language.PL: "mniej niż {threshold} osób; dokładna liczba nie jest podawana",
        Language.EN: "fewer than {threshold} persons; the exact number is not given",
    },
    "table.hidden_cells": {
        Language.PL: "Ukryte komórki: {count}.",
        Language.EN: "Hidden cells: {count}.",
    },
    "table.total": {Language.PL: "Ogółem", Language.EN: "Total"},
    "table.download": {
        Language.PL: "Dane tej tabeli: plik {file} obok raportu.",
        Language.EN: "This table's data: file {file} next to the report.",
    },
    "figure.from_tables": {
        Language.PL: "Wykres z tabel chronionych: {tables}.",
        Language.EN: "Chart drawn from protected tables: {tables}.",
    },
    "footer.software": {
        Language.PL: "Przygotowano programem privstats {version}.",
        Language.EN: "Prepared with privstats {version}.",
    },
    "footer.contact": {
        Language.PL: (
            "Każda osoba może poprosić operatora o wgląd w swoje dane, ich poprawienie lub "
            "usunięcie."
        ),
        Language.EN: ("Anyone may ask the operator to see, correct or erase their data."),
    },
    "title.traffic_report": {
        Language.PL: "Ruch w serwisie",
        Language.EN: "Website traffic",
    },
    "title.crm_activity_report": {
        Language.PL: "Aktywność w systemie CRM",
        Language.EN: "CRM activity",
    },
    "title.partner_summary": {
        Language.PL: "Podsumowanie dla partnera",
        Language.EN: "Partner summary",
    },
    "title.explore": {Language.PL: "Eksploracja danych", Language.EN: "Data exploration"},
    "title.review": {Language.PL: "Przegląd raportu", Language.EN: "Report review"},
    "title.default": {Language.PL: "Raport statystyczny", Language.EN: "Statistical report"},
}


def message(key: str, language: Language | str, /, **values: object) -> str:
    """The text of ``key`` in ``language``, with ``values`` filled into its placeholders."""
    lang = Language.parse(language)
    try:
        template = MESSAGES[key][lang]
    except KeyError:
        raise KeyError(f"no message '{key}' in the report catalogue") from None
    return template.format(**values) if values else template


def placeholders(template: str) -> frozenset[str]:
    """The names of the ``{placeholders}`` in a catalogue template."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def report_title(report: str, language: Language | str) -> str:
    """The catalogue title of a report notebook, or the generic one for a notebook not listed."""
    key = f"title.{report}"
    return message(key if key in MESSAGES else "title.default", language)


def format_number(value: Real, language: Language | str, decimals: int = 0) -> str:
    """``value`` with the language's thousands separator and decimal mark."""
    lang = Language.parse(language)
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=lang.value, decimal_quantization=True)


def format_period(period: str, language: Language | str) -> str:
    """A ``YYYY-MM`` period as the month's name and year ("październik 2026", "October 2026").

    Anything else (a day range such as ``2026-10-01_2026-10-31``) is shown as it is.
    """
    lang = Language.parse(language)
    try:
        first = dt.date.fromisoformat(period + "-01")
    except ValueError:
        return period.replace("_", " – ")
    return format_date(first, "LLLL y", locale=lang.value)


def format_timestamp(moment: dt.datetime, language: Language | str) -> str:
    """A generation time in UTC, in the language's long date form."""
    lang = Language.parse(language)
    utc = moment.astimezone(dt.UTC)
    return format_datetime(utc, "d MMMM y, HH:mm 'UTC'", tzinfo=dt.UTC, locale=lang.value)
