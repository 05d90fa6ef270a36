"""Name handling: feminine surnames, ASCII folding for e-mails, logins and slugs."""

from __future__ import annotations

from privstats.synth.names import ascii_fold, polish_feminine, slugify


def test_polish_surnames_take_their_feminine_form() -> None:
    assert polish_feminine("Kowalski") == "Kowalska"
    assert polish_feminine("Czarnecki") == "Czarnecka"
    assert polish_feminine("Zawadzki") == "Zawadzka"
    assert polish_feminine("Wójcik") == "Wójcik"


def test_diacritics_fold_to_ascii() -> None:
    assert ascii_fold("Łukasz Wójcik") == "Lukasz Wojcik"
    assert ascii_fold("Jürgen Weiß") == "Jurgen Weiss"
    assert ascii_fold("Jiří Dvořák") == "Jiri Dvorak"


def test_slugs_are_lowercase_ascii_words_joined_by_hyphens() -> None:
    assert slugify("Zofia", "Dąbrowska") == "zofia-dabrowska"
    assert slugify("Sean", "O'Brien") == "sean-obrien"
    assert slugify("Żaneta", "Ślusarczyk") == "zaneta-slusarczyk"
