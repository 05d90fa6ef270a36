"""Curated, realistic names by country: a fixed list keeps the generator deterministic and offline.

Polish surnames ending in -ski, -cki or -dzki take the feminine -ska, -cka, -dzka; the others
are the same for both.
"""

from __future__ import annotations

import unicodedata

POLISH_MALE = (
    "Jan",
    "Piotr",
    "Krzysztof",
    "Andrzej",
    "Tomasz",
    "Paweł",
    "Michał",
    "Marcin",
    "Łukasz",
    "Grzegorz",
    "Mateusz",
    "Wojciech",
    "Adam",
    "Jakub",
    "Szymon",
    "Bartłomiej",
    "Kamil",
    "Maciej",
    "Rafał",
    "Dawid",
    "Sebastian",
    "Przemysław",
    "Zbigniew",
    "Jerzy",
    "Stanisław",
    "Mikołaj",
    "Jędrzej",
    "Hubert",
    "Błażej",
    "Zdzisław",
)
POLISH_FEMALE = (
    "Anna",
    "Maria",
    "Katarzyna",
    "Małgorzata",
    "Agnieszka",
    "Barbara",
    "Ewa",
    "Krystyna",
    "Magdalena",
    "Joanna",
    "Zofia",
    "Aleksandra",
    "Monika",
    "Natalia",
    "Karolina",
    "Dorota",
    "Beata",
    "Justyna",
    "Weronika",
    "Julia",
    "Halina",
    "Jadwiga",
    "Elżbieta",
    "Grażyna",
    "Łucja",
    "Bożena",
    "Urszula",
    "Iwona",
    "Wiesława",
    "Żaneta",
)
POLISH_SURNAMES = (
    "Nowak",
    "Kowalski",
    "Wiśniewski",
    "Wójcik",
    "Kowalczyk",
    "Kamiński",
    "Lewandowski",
    "Zieliński",
    "Szymański",
    "Woźniak",
    "Dąbrowski",
    "Kozłowski",
    "Jankowski",
    "Mazur",
    "Kwiatkowski",
    "Krawczyk",
    "Piotrowski",
    "Grabowski",
    "Nowakowski",
    "Pawłowski",
    "Michalski",
    "Król",
    "Wieczorek",
    "Jabłoński",
    "Wróbel",
    "Majewski",
    "Olszewski",
    "Jaworski",
    "Stępień",
    "Górski",
    "Rutkowski",
    "Sikora",
    "Baran",
    "Duda",
    "Szewczyk",
    "Ostrowski",
    "Tomaszewski",
    "Pietrzak",
    "Zalewski",
    "Wróblewski",
    "Marciniak",
    "Jasiński",
    "Zając",
    "Błaszczyk",
    "Żak",
    "Chmielewski",
    "Gołębiowski",
    "Łuczak",
    "Ślusarczyk",
    "Sadowski",
    "Bąk",
    "Czarnecki",
    "Zawadzki",
    "Sobczak",
    "Kubiak",
    "Wilczyński",
    "Głowacki",
    "Fijałkowski",
    "Kaczmarek",
    "Przybylski",
    "Brzeziński",
    "Pająk",
    "Ćwikliński",
    "Śliwiński",
)
ENGLISH_MALE = (
    "James",
    "Oliver",
    "Thomas",
    "Harry",
    "George",
    "William",
    "Daniel",
    "Samuel",
    "Jack",
    "Edward",
    "Henry",
    "Charles",
    "Joseph",
    "Matthew",
    "Alfie",
)
ENGLISH_FEMALE = (
    "Emily",
    "Sophie",
    "Charlotte",
    "Amelia",
    "Olivia",
    "Jessica",
    "Hannah",
    "Grace",
    "Lucy",
    "Chloe",
    "Isla",
    "Poppy",
    "Eleanor",
    "Megan",
    "Zoe",
)
ENGLISH_SURNAMES = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "O'Brien",
    "Murphy",
    "Hughes",
    "Fitzgerald",
    "McAllister",
)
GERMAN_MALE = ("Lukas", "Jonas", "Felix", "Maximilian", "Jürgen", "Stefan", "Matthias")
GERMAN_FEMALE = ("Lena", "Hannah", "Sophie", "Sabine", "Katrin", "Ursula", "Gisela")
GERMAN_SURNAMES = (
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schäfer",
    "Köhler",
    "Weiß",
    "Groß",
)
UKRAINIAN_MALE = ("Oleksandr", "Andrii", "Dmytro", "Serhii", "Mykola", "Yurii", "Taras")
UKRAINIAN_FEMALE = ("Olena", "Iryna", "Kateryna", "Oksana", "Nataliia", "Yuliia", "Halyna")
UKRAINIAN_SURNAMES = (
    "Shevchenko",
    "Kovalenko",
    "Bondarenko",
    "Tkachenko",
    "Kravchenko",
    "Melnyk",
    "Boiko",
    "Oliinyk",
    "Lysenko",
    "Savchenko",
)
CZECH_MALE = ("Jiří", "Tomáš", "Petr", "Jan", "Lukáš", "Ondřej", "Vojtěch")
CZECH_FEMALE = ("Petra", "Lucie", "Eva", "Tereza", "Markéta", "Kateřina", "Věra")
# Czech surnames: (male, female)
CZECH_SURNAMES = (
    ("Novák", "Nováková"),
    ("Svoboda", "Svobodová"),
    ("Dvořák", "Dvořáková"),
    ("Černý", "Černá"),
    ("Procházka", "Procházková"),
    ("Kučera", "Kučerová"),
    ("Veselý", "Veselá"),
    ("Horák", "Horáková"),
)

_FEMININE_ENDINGS = (("dzki", "dzka"), ("cki", "cka"), ("ski", "ska"))


def polish_feminine(surname: str) -> str:
    for male, female in _FEMININE_ENDINGS:
        if surname.endswith(male):
            return surname[: -len(male)] + female
    return surname


# Letters NFKD does not decompose into an ASCII base letter.
_ASCII_EXTRA = str.maketrans({"ł": "l", "Ł": "L", "ß": "ss", "ø": "o", "Ø": "O", "'": ""})


def ascii_fold(text: str) -> str:
    """``Łukasz Wójcik`` → ``Lukasz Wojcik``: for e-mail local parts, logins and slugs."""
    text = text.translate(_ASCII_EXTRA)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def slugify(*parts: str) -> str:
    """``("Zofia", "Dąbrowska")`` → ``zofia-dabrowska``."""
    words = []
    for part in parts:
        folded = ascii_fold(part).lower()
        words.extend("".join(c if c.isalnum() else " " for c in folded).split())
    return "-".join(words)
