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
from decimal import Decimal

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


def _both(polish: str, english: str) -> dict[Language, str]:
    return {Language.PL: polish, Language.EN: english}


MESSAGES: dict[str, dict[Language, str]] = {
    # Who receives the report: a partner's report of the whole service (traffic) is still
    # the whole service's figures, so the header names the recipient, not the data's owner.
    "report.partner": {Language.PL: "Przygotowano dla", Language.EN: "Prepared for"},
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
    "report.disclosure.dp": {
        Language.PL: (
            "Tabele z szumem chroni prywatność różnicowa: wpływ każdej osoby na wynik jest "
            "ograniczony (w ruchu serwisu: odwiedzającego w danym dniu), a do każdej liczby "
            "dodano losowy szum. Dzięki temu z żadnego zestawu tabel, także z przyszłych "
            "raportów, nie da się wiarygodnie ustalić, czy dana osoba w ogóle jest w danych: "
            "każde wydanie jest zapisane i pomniejsza ograniczony budżet prywatności, a po jego "
            "wyczerpaniu kolejne tabele nie są wydawane. Szum sprawia, że małe liczby są mniej "
            "dokładne; przy każdej tabeli podano margines błędu."
        ),
        Language.EN: (
            "Tables with noise are protected by differential privacy: each person's influence on "
            "the result is bounded (for website traffic: a visitor on one day), and random noise "
            "is added to every number. No set of tables, including those of future reports, can "
            "then reliably tell whether a given person is in the data at all: every release is "
            "recorded and spends part of a limited privacy budget, and once it is spent no "
            "further tables are released. The noise makes small numbers less precise; each table "
            "states its margin of error."
        ),
    },
    "table.dp_note": {
        Language.PL: (
            "Liczby zawierają losowy szum (prywatność różnicowa): z prawdopodobieństwem 95% "
            "prawdziwa wartość różni się od pokazanej najwyżej o ±{margin}."
        ),
        Language.EN: (
            "The numbers carry random noise (differential privacy): with 95% probability the "
            "true value lies within ±{margin} of the one shown."
        ),
    },
    "legend.title": {Language.PL: "Oznaczenia", Language.EN: "Legend"},
    "crm.daily.title": _both("Aktywne osoby według dni", "Active persons by day"),
    "crm.daily.unit": _both(
        "osoby aktywne danego dnia; „Ogółem” to osobo-dni",
        "persons active on the day; the total is person-days",
    ),
    "crm.industries.title": _both(
        "Aktywne organizacje według branży i wielkości", "Active organisations by industry and size"
    ),
    "crm.cohorts.heading": _both("Kohorty: rejestracje i powroty", "Cohorts: sign-ups and return"),
    "crm.cohorts.registrations": _both("Nowe konta według miesięcy", "New accounts by month"),
    "crm.cohorts.title": _both(
        "Aktywne osoby według miesiąca rejestracji i miesiąca aktywności",
        "Active persons by month of sign-up and month of activity",
    ),
    "crm.cohorts.caption": _both(
        "Wiersz to osoby zarejestrowane w danym miesiącu; kolumna to miesiąc, w którym były "
        "aktywne (przekątna: pierwszy miesiąc, dalej: powroty). Osoba aktywna w kilku "
        "miesiącach liczy się w każdym z nich.",
        "A row holds the persons who signed up in its month; a column the month they were "
        "active in (the diagonal: their first month; right of it: their return). A person "
        "active in several months counts in each.",
    ),
    "crm.funnel.registered": _both("Zarejestrowani w {month}", "Signed up in {month}"),
    "crm.funnel.first": _both("…aktywni w pierwszym miesiącu", "…active in their first month"),
    "crm.funnel.second": _both("…aktywni w drugim miesiącu", "…active in their second month"),
    "dim.signup_month": _both("miesiąc rejestracji", "month of sign-up"),
    "dim.active_month": _both("miesiąc aktywności", "month active"),
    "dim.month": _both("miesiąc", "month"),
    "crm.headline.active": _both("Aktywne osoby w okresie", "Persons active in the period"),
    "crm.headline.daily": _both(
        "Aktywne osoby dziennie (średnio)", "Active persons per day (average)"
    ),
    "crm.headline.stickiness": _both(
        "Aktywni dziennie / w okresie", "Daily / period active persons"
    ),
    "crm.headline.organisations": _both("Aktywne organizacje", "Active organisations"),
    "report.covered": _both("Dane z dni", "Data from"),
    "report.covered.days": _both(
        "{first} – {last} ({days} z {of} dni)", "{first} – {last} ({days} of {of} days)"
    ),
    "report.headline": _both("Najważniejsze liczby", "Headline figures"),
    "report.headline.change": _both(
        "{change} wobec poprzedniego okresu", "{change} on the previous period"
    ),
    "report.headline.no_change": _both(
        "brak porównania z poprzednim okresem", "no comparison with the previous period"
    ),
    "report.headline.at_least": _both("co najmniej {value}", "at least {value}"),
    "report.methodology.short": _both(
        "Raport zawiera wyłącznie zestawienia zbiorcze, bez danych pozwalających kogokolwiek "
        "zidentyfikować; małe i zdradzające komórki są ukryte (x).",
        "The report holds aggregate summaries only, with nothing that identifies anyone; small "
        "cells and cells that would give them away are hidden (x).",
    ),
    "report.methodology.link": _both("Pełny opis metody", "The full note on the method"),
    "table.numbers": _both("Liczby (tabela)", "The numbers (table)"),
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


# The words of the report notebooks (notebooks/*.ipynb), read there through
# ``privstats.report.notebook.Words``. ``code.<dimension>.<code>`` names a category's value.
MESSAGES |= {
    # -- shared by the notebooks --------------------------------------------------------------
    "common.period.all": _both("wszystkie dni w magazynie", "every day in the store"),
    "common.none": _both(
        "W tym okresie nie ma żadnych danych do tej tabeli.",
        "There are no records for this table in the period.",
    ),
    "common.empty": _both(
        "„{title}”: w tym okresie nie ma czego policzyć.",
        "“{title}”: there is nothing to count in the period.",
    ),
    "common.withheld": _both(
        "Tabela „{title}” nie jest pokazana: jej komórek nie da się ochronić razem z pozostałymi "
        "tabelami wydanymi temu samemu odbiorcy.",
        "The table “{title}” is not shown: its cells cannot be protected together with the other "
        "tables released to the same audience.",
    ),
    "unit.persons": _both("osoby", "persons"),
    "unit.organisations": _both("organizacje", "organisations"),
    "unit.events": _both("zdarzenia", "events"),
    "unit.records": _both("rekordy", "records"),
    "unit.forms": _both("formularze", "forms"),
    "unit.median": _both("mediana", "median"),
    "axis.persons": _both("osoby", "persons"),
    "axis.organisations": _both("organizacje", "organisations"),
    "axis.new_accounts": _both("nowe konta (osoby)", "new accounts (persons)"),
    "axis.forms": _both("formularze (liczba)", "forms (count)"),
    "axis.records": _both("zaimportowane rekordy (liczba)", "records imported (count)"),
    "axis.share": _both("udział w grupie (%)", "share of the group (%)"),
    "dim.week": _both("tydzień (ISO)", "week (ISO)"),
    "dim.day": _both("dzień", "day"),
    "dim.signup_channel": _both("kanał rejestracji", "sign-up channel"),
    "dim.module": _both("moduł", "module"),
    "dim.action": _both("czynność", "action"),
    "dim.topic": _both("temat", "topic"),
    "dim.source": _both("źródło", "source"),
    "dim.system": _both("system zewnętrzny", "external system"),
    "dim.size_band": _both("wielkość organizacji", "organisation size"),
    "dim.industry": _both("branża", "industry"),
    "dim.group": _both("grupa", "group"),
    "dim.device": _both("urządzenie", "device"),
    "dim.is_bot": _both("rodzaj", "kind"),
    "dim.hour": _both("godzina (UTC)", "hour (UTC)"),
    "code.module.contacts": _both("kontakty", "contacts"),
    "code.module.companies": _both("firmy", "companies"),
    "code.module.deals": _both("transakcje", "deals"),
    "code.module.tasks": _both("zadania", "tasks"),
    "code.module.calendar": _both("kalendarz", "calendar"),
    "code.module.invoices": _both("faktury", "invoices"),
    "code.module.campaigns": _both("kampanie e-mail", "e-mail campaigns"),
    "code.module.reports": _both("raporty", "reports"),
    "code.module.imports": _both("importy", "imports"),
    "code.action.create": _both("utworzenie", "create"),
    "code.action.view": _both("podgląd", "view"),
    "code.action.update": _both("zmiana", "update"),
    "code.action.delete": _both("usunięcie", "delete"),
    "code.action.export": _both("eksport", "export"),
    "code.action.import": _both("import", "import"),
    "code.topic.sales": _both("sprzedaż", "sales"),
    "code.topic.support": _both("pomoc techniczna", "support"),
    "code.topic.billing": _both("płatności", "billing"),
    "code.topic.partnership": _both("współpraca partnerska", "partnership"),
    "code.topic.other": _both("inne", "other"),
    "code.signup_channel.email": _both("e-mail", "e-mail"),
    "code.source.web": _both("aplikacja WWW", "web app"),
    "code.source.api": _both("API", "API"),
    "code.source.mobile": _both("aplikacja mobilna", "mobile app"),
    "code.source.import": _both("import: {system}", "import: {system}"),
    "code.size_band.1-9": _both("1–9 osób", "1–9 people"),
    "code.size_band.10-49": _both("10–49 osób", "10–49 people"),
    "code.size_band.50-249": _both("50–249 osób", "50–249 people"),
    "code.size_band.250+": _both("250 i więcej osób", "250 people or more"),
    # Codes any dimension may show: the engine's and the user-agent parser's.
    "code.any.(none)": _both("(brak)", "(none)"),
    "code.any.others": _both("pozostałe", "all others"),
    "code.any.Other": _both("inne", "other"),
    "code.any.other": _both("inne", "other"),
    "code.any.visitors": _both("odwiedzający", "visitors"),
    "code.any.requests": _both("żądania", "requests"),
    "code.any.organisations": _both("organizacje", "organisations"),
    "code.any.sum": _both("suma", "sum"),
    "code.any.mean": _both("średnia", "mean"),
    "code.any.median": _both("mediana", "median"),
    "code.any.p90": _both("90. percentyl", "90th percentile"),
    "code.any.p99": _both("99. percentyl", "99th percentile"),
    "code.device.desktop": _both("komputer", "desktop"),
    "code.device.mobile": _both("telefon", "mobile"),
    "code.device.tablet": _both("tablet", "tablet"),
    "code.device.bot": _both("bot", "bot"),
    "code.device.other": _both("inne", "other"),
    "code.resource.page": _both("odsłony stron", "page views"),
    "code.resource.api": _both("wywołania API", "API calls"),
    "code.resource.asset": _both("pliki statyczne", "static files"),
    "code.channel.direct": _both("wejścia bezpośrednie", "direct"),
    "code.channel.search": _both("wyszukiwarki", "search engines"),
    "code.channel.social": _both("media społecznościowe", "social networks"),
    "code.channel.referral": _both("inne witryny", "other sites"),
    "code.channel.internal": _both("własne domeny serwisu", "the service's own domains"),
    "code.channel.unknown": _both("nieczytelny odsyłacz", "unreadable referer"),
    "code.status_class.1xx": _both("1xx informacja", "1xx informational"),
    "code.status_class.2xx": _both("2xx sukces", "2xx success"),
    "code.status_class.3xx": _both("3xx przekierowanie", "3xx redirect"),
    "code.status_class.4xx": _both("4xx błąd klienta", "4xx client error"),
    "code.status_class.5xx": _both("5xx błąd serwera", "5xx server error"),
    "code.weekday.1": _both("poniedziałek", "Monday"),
    "code.weekday.2": _both("wtorek", "Tuesday"),
    "code.weekday.3": _both("środa", "Wednesday"),
    "code.weekday.4": _both("czwartek", "Thursday"),
    "code.weekday.5": _both("piątek", "Friday"),
    "code.weekday.6": _both("sobota", "Saturday"),
    "code.weekday.7": _both("niedziela", "Sunday"),
    "code.industry.agriculture": _both("rolnictwo", "agriculture"),
    "code.industry.construction": _both("budownictwo", "construction"),
    "code.industry.education": _both("edukacja", "education"),
    "code.industry.finance": _both("finanse", "finance"),
    "code.industry.healthcare": _both("ochrona zdrowia", "healthcare"),
    "code.industry.hospitality": _both("hotelarstwo i gastronomia", "hospitality"),
    "code.industry.it_services": _both("usługi IT", "IT services"),
    "code.industry.logistics": _both("logistyka", "logistics"),
    "code.industry.manufacturing": _both("produkcja", "manufacturing"),
    "code.industry.marketing": _both("marketing", "marketing"),
    "code.industry.real_estate": _both("nieruchomości", "real estate"),
    "code.industry.retail": _both("handel", "retail"),
    "code.industry.other": _both("inne", "other"),
    "code.is_bot.true": _both("boty", "bots"),
    "code.is_bot.false": _both("ludzie", "people"),
    # -- crm_activity_report ------------------------------------------------------------------
    "crm.title": _both("Aktywność w systemie CRM", "CRM activity"),
    "crm.title.partner": _both(
        "Aktywność w systemie CRM: organizacje partnera {partner}",
        "CRM activity: organisations of partner {partner}",
    ),
    "crm.intro": _both(
        "Rejestracje kont, aktywność osób i organizacji w modułach systemu, formularze "
        "kontaktowe i importy z systemów zewnętrznych w okresie: {period}. Osoby i organizacje "
        "są rozpoznawane wyłącznie po kluczowanych pseudonimach; imiona, nazwiska, adresy "
        "e-mail i treści wiadomości nie są przechowywane.",
        "Account registrations, the activity of persons and organisations in the system's "
        "modules, contact forms and imports from external systems in the period: {period}. "
        "Persons and organisations are told apart by keyed pseudonyms only; names, e-mail "
        "addresses and message texts are not stored.",
    ),
    "crm.registrations.heading": _both("Rejestracje", "Registrations"),
    "crm.registrations.title": _both(
        "Nowe konta według tygodnia i kanału rejestracji",
        "New accounts by week and sign-up channel",
    ),
    "crm.registrations.caption": _both(
        "Konta założone w okresie, liczone jako osoby; tygodnie według ISO 8601 "
        "(poniedziałek–niedziela).",
        "Accounts opened in the period, counted as persons; weeks as in ISO 8601 "
        "(Monday to Sunday).",
    ),
    "crm.registrations.chart": _both("Nowe konta według tygodnia", "New accounts by week"),
    "crm.registrations.none": _both(
        "W tym okresie nie założono żadnego konta.",
        "No account was opened in this period.",
    ),
    "crm.activity.heading": _both("Aktywność w modułach", "Activity in the modules"),
    "crm.persons.title": _both(
        "Aktywne osoby według modułu i czynności", "Active persons by module and action"
    ),
    "crm.persons.caption": _both(
        "Osoby, które w okresie choć raz wykonały daną czynność w module. Osoba aktywna w kilku "
        "modułach liczy się w każdym z nich, a w sumie ogółem tylko raz, dlatego sumy są "
        "mniejsze niż suma wierszy.",
        "Persons who performed the action in the module at least once in the period. A person "
        "active in several modules counts in each, and once in the total, so totals are "
        "smaller than the sum of their rows.",
    ),
    "crm.persons.chart": _both("Aktywne osoby według modułu", "Active persons by module"),
    "crm.organisations.title": _both(
        "Aktywne organizacje według modułu i czynności",
        "Active organisations by module and action",
    ),
    "crm.organisations.caption": _both(
        "Organizacje, w których choć jedna osoba wykonała daną czynność w module. Komórka jest "
        "pokazana tylko wtedy, gdy stoi za nią co najmniej tyle osób, ile wymaga próg.",
        "Organisations in which at least one person performed the action in the module. A cell "
        "is shown only when at least the threshold's number of persons stands behind it.",
    ),
    "crm.forms.heading": _both("Formularze kontaktowe", "Contact forms"),
    "crm.forms.title": _both("Formularze kontaktowe według tematu", "Contact forms by topic"),
    "crm.forms.caption": _both(
        "Liczba wysłanych formularzy. Treść wiadomości nie jest przechowywana, tylko temat.",
        "The number of forms sent. Message texts are not stored, only the topic.",
    ),
    "crm.forms.chart": _both("Formularze kontaktowe według tematu", "Contact forms by topic"),
    "crm.forms.partner": _both(
        "Formularze kontaktowe nie są przypisane do organizacji, dlatego raport dla partnera "
        "ich nie obejmuje.",
        "Contact forms are not linked to organisations, so a partner's report leaves them out.",
    ),
    "crm.imports.heading": _both(
        "Importy z systemów zewnętrznych", "Imports from external systems"
    ),
    "crm.imports.records.title": _both(
        "Zaimportowane rekordy według systemu", "Records imported by system"
    ),
    "crm.imports.records.caption": _both(
        "Suma rekordów dodanych lub zmienionych przez importy z danego systemu. Wartość jest "
        "ukryta także wtedy, gdy jedna lub dwie osoby dają prawie całą sumę.",
        "The records added or changed by imports from each system. A value is also hidden "
        "when one or two persons make up nearly all of it.",
    ),
    "crm.imports.persons.title": _both(
        "Osoby importujące według systemu", "Persons importing by system"
    ),
    "crm.imports.chart": _both(
        "Zaimportowane rekordy według systemu", "Records imported by system"
    ),
    "crm.imports.none": _both(
        "W tym okresie nie było importów z systemów zewnętrznych.",
        "There were no imports from external systems in this period.",
    ),
    # -- partner_summary ----------------------------------------------------------------------
    "partner.title": _both("Podsumowanie dla partnera {partner}", "Summary for partner {partner}"),
    "partner.intro": _both(
        "Organizacje partnera {partner} w porównaniu z organizacjami pozostałych partnerów i z "
        "całym serwisem, w okresie: {period}.",
        "The organisations of partner {partner} compared with those of the other partners and "
        "with the whole service, in the period: {period}.",
    ),
    "partner.comparison": _both(
        "Pozostali partnerzy są pokazani tylko łącznie. Kolumna „Ogółem” to cały serwis; jest "
        "chroniona w tej samej tabeli co kolumny partnerów, tak aby różnica „cały serwis minus "
        "partner” nie odsłoniła żadnej ukrytej komórki.",
        "The other partners are shown only together. The “Total” column is the whole service; "
        "it is protected in the same table as the partners' columns, so that “whole service "
        "minus partner” reveals no hidden cell.",
    ),
    "partner.inactive": _both(
        "W tym okresie w żadnej organizacji partnera {partner} nikt nie był aktywny; tabele "
        "pokazują tylko pozostałych partnerów i cały serwis.",
        "No one was active in any organisation of partner {partner} in this period; the tables "
        "show only the other partners and the whole service.",
    ),
    "partner.group.own": _both("partner {partner}", "partner {partner}"),
    "partner.group.others": _both("pozostali partnerzy", "other partners"),
    "partner.group.all": _both("cały serwis", "whole service"),
    "partner.organisations.heading": _both("Organizacje", "Organisations"),
    "partner.organisations.title": _both(
        "Aktywne organizacje według wielkości", "Active organisations by size"
    ),
    "partner.organisations.caption": _both(
        "Organizacje, w których choć jedna osoba była aktywna w okresie. Wielkość to liczba "
        "pracowników podana przy rejestracji organizacji.",
        "Organisations in which at least one person was active in the period. Size is the "
        "number of employees given when the organisation registered.",
    ),
    "partner.medians.heading": _both("Typowa organizacja", "The typical organisation"),
    "partner.medians.dp": _both(
        "Mediany nie są publikowane z szumem: każda z nich to wartość jednej organizacji lub "
        "osoby.",
        "Medians are not published with noise: each of them is one organisation's or person's "
        "value.",
    ),
    "partner.medians.persons.title": _both(
        "Aktywne osoby na organizację (mediana)", "Active persons per organisation (median)"
    ),
    "partner.medians.persons.caption": _both(
        "Połowa aktywnych organizacji grupy ma co najwyżej tyle aktywnych osób.",
        "Half of the group's active organisations have at most this many active persons.",
    ),
    "partner.medians.events.title": _both(
        "Zdarzenia na aktywną osobę (mediana)", "Events per active person (median)"
    ),
    "partner.medians.events.caption": _both(
        "Połowa aktywnych osób grupy wykonała w okresie co najwyżej tyle czynności.",
        "Half of the group's active persons performed at most this many actions in the period.",
    ),
    "partner.modules.heading": _both("Moduły", "Modules"),
    "partner.modules.title": _both("Aktywne osoby według modułu", "Active persons by module"),
    "partner.modules.caption": _both(
        "Osoby, które w okresie choć raz skorzystały z modułu; osoba aktywna w kilku modułach "
        "liczy się w każdym z nich.",
        "Persons who used the module at least once in the period; a person active in several "
        "modules counts in each.",
    ),
    "partner.modules.chart": _both(
        "Udział aktywnych osób korzystających z modułu",
        "Share of active persons using each module",
    ),
    "partner.sources.heading": _both("Sposób pracy", "How the system is used"),
    "partner.sources.title": _both("Zdarzenia według źródła", "Events by source"),
    "partner.sources.caption": _both(
        "Czynności wykonane w aplikacji WWW, przez API, w aplikacji mobilnej i importami z "
        "systemów zewnętrznych.",
        "Actions performed in the web app, through the API, in the mobile app and by imports "
        "from external systems.",
    ),
    "partner.sources.chart": _both("Udział zdarzeń według źródła", "Share of events by source"),
    "partner.registrations.title": _both(
        "Nowe konta według kanału rejestracji", "New accounts by sign-up channel"
    ),
    "partner.registrations.caption": _both(
        "Konta założone w okresie, liczone jako osoby.",
        "Accounts opened in the period, counted as persons.",
    ),
    "partner.registrations.none": _both(
        "W tym okresie w organizacjach partnera ani w całym serwisie nie założono żadnego konta.",
        "No account was opened in this period, neither in the partner's organisations nor in "
        "the whole service.",
    ),
    "partner.shares.note": _both(
        "Udziały policzono z liczb pokazanych w tabeli; tam, gdzie komórka lub jej suma jest "
        "ukryta, udział też jest ukryty („{marker}”).",
        "Shares are computed from the numbers the table shows; where a cell or its total is "
        "hidden, so is the share (“{marker}”).",
    ),
    # -- explore ------------------------------------------------------------------------------
    "explore.title": _both("Eksploracja danych: przykłady", "Data exploration: examples"),
    "explore.visitors.title": _both("Odwiedzający według dni", "Visitors by day"),
    "explore.visitors.chart": _both("Odwiedzający według dni: wykres", "Visitors by day: chart"),
    "explore.devices.title": _both("Urządzenia i boty", "Devices and bots"),
    "explore.text": _both(
        "Przykładowe tabele notatnika eksploracji: każda liczba przeszła przez reguły ochrony.",
        "Example tables of the exploration notebook: every number passed the disclosure rules.",
    ),
    "axis.visitors": _both("odwiedzający (osoby)", "visitors (persons)"),
    # -- review -------------------------------------------------------------------------------
    "review.verdict.pass": _both(
        "Werdykt ({report}, {partner}, {period}): raport może zostać wydany (wszystkie "
        "sprawdzenia przeszły).",
        "Verdict ({report}, {partner}, {period}): the report may be released (every check passed).",
    ),
    "review.verdict.fail": _both(
        "Werdykt ({report}, {partner}, {period}): raportu NIE wolno wydać: {reasons}.",
        "Verdict ({report}, {partner}, {period}): the report must NOT be released: {reasons}.",
    ),
    "review.verdict.unverified": _both(
        "Werdykt ({report}, {partner}, {period}): NIE SPRAWDZONO do końca: tabel nie "
        "przeliczono z magazynu, z którego powstał raport; nie wolno go jeszcze wydać.",
        "Verdict ({report}, {partner}, {period}): NOT VERIFIED: the tables were not recomputed "
        "from the store the report was made from; it may not be released yet.",
    ),
    "review.problem.status": _both(
        "tabela {table} nie przeszła kontroli ujawnienia", "table {table} failed its checks"
    ),
    "review.problem.audit": _both(
        "audyt tabeli {table} nie przeszedł", "the audit of table {table} did not pass"
    ),
    "review.problem.files": _both(
        "pliki nie zgadzają się z manifestem ({count})",
        "files do not match the manifest ({count})",
    ),
    "review.problem.leaks": _both(
        "skaner wycieków znalazł {count} problemów", "the leak scan found {count} problems"
    ),
    "review.problem.gate": _both(
        "bramka recenzenta zgłosiła {count} problemów", "the reviewer's gate found {count} problems"
    ),
    "review.problem.other_store": _both(
        "raport nie powstał z tego magazynu (jego tabel nie przeliczono)",
        "this report was not made from this store (its tables were not recomputed)",
    ),
    "review.problem.linked": _both(
        "w połączeniu z tabelami wydanymi wcześniej raport ujawnia {count} rzeczy",
        "together with the tables released before, the report gives {count} things away",
    ),
    "review.leaks.none": _both("Skaner wycieków nic nie znalazł.", "The leak scan found nothing."),
    "review.leaks.absent": _both(
        "Skaner wycieków (privstats.leaks) nie jest dostępny: wynik skanowania nieznany.",
        "The leak scanner (privstats.leaks) is not available: no scan result.",
    ),
    "review.linked.absent": _both(
        "Raportu nie sprawdzono razem z tabelami wydanymi wcześniej (potrzebny jest magazyn).",
        "The report was not checked together with the tables released before (that needs the "
        "store).",
    ),
    "review.linked.none": _both(
        "Razem z tabelami wydanymi wcześniej (wszystkim odbiorcom) raport niczego nie ujawnia.",
        "Together with the tables released before (to every audience) the report gives nothing "
        "away.",
    ),
    "review.records.absent": _both(
        "Brak pełnych zapisów recenzenta (records.json): powody ukrycia i przedziały audytu "
        "pochodzą tylko z manifestu.",
        "The reviewer's full records (records.json) are absent: reasons and audit intervals "
        "come from the manifest alone.",
    ),
    "review.column.table": _both("tabela", "table"),
    "review.column.status": _both("status", "status"),
    "review.column.shape": _both("wiersze × kolumny", "rows × columns"),
    "review.column.hidden": _both("ukryte komórki", "hidden cells"),
    "review.column.threshold": _both("próg", "threshold"),
    "review.column.rules": _both("reguły", "rules"),
    "review.column.reasons": _both("powody ukrycia", "reasons hidden"),
    "review.column.audited": _both("komórki w audycie", "cells audited"),
    "review.column.unsafe": _both("komórki niebezpieczne", "unsafe cells"),
    "review.column.narrowest": _both("najwęższy przedział", "narrowest interval"),
    "review.column.median_width": _both("mediana szerokości przedziału", "median interval width"),
    "review.column.file": _both("plik", "file"),
    "review.column.location": _both("miejsce", "location"),
    "review.column.kind": _both("rodzaj", "kind"),
    "review.column.note": _both("uwaga", "note"),
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


def format_number(value: float | Decimal, language: Language | str, decimals: int = 0) -> str:
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
