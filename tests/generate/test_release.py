"""Release facts files: every fact says where it was read, a missing one says why, and
--fact supplies or overrides one. All shipped files load."""

from __future__ import annotations

import datetime

import pytest

from specgen.errors import InputError, SpecgenError
from specgen.generate.release import (
    FACT_KEYS,
    _parse,
    available_releases,
    load_release,
    load_release_facts,
)


def _file(**release: object) -> dict:
    base = {"name": "26.11", "triton_version": "2.75.0", "date": datetime.date(2026, 11, 20)}
    base.update(release)
    return {"release": base, "read_from": {"triton_version": "build.py", "date": "tag"}}


def test_every_shipped_release_loads_and_says_where_each_fact_was_read() -> None:
    names = available_releases()
    assert names[0] == "24.06" and names[-1] == "26.10" and len(names) == 29
    for name in names:
        facts = load_release_facts(name)
        assert facts is not None and facts.name == name
        for key in facts.facts:
            assert key == "triton_tag" or facts.read_from.get(key), (name, key)
        assert set(facts.missing()) == set(facts.unknown), name


def test_complete_releases_and_the_default() -> None:
    release = load_release("25.03")
    assert (release.cuda, release.cudnn, release.tensorrt) == ("12.8.1", "9.8.0.87", "10.9.0.34")
    assert release.date == datetime.date(2025, 4, 7)
    assert load_release("24.06").triton_version == "2.47.0"


def test_an_incomplete_release_names_each_missing_fact_and_its_flag() -> None:
    with pytest.raises(SpecgenError) as err:
        load_release("26.10")
    text = str(err.value)
    assert "Triton 26.10: triton_version, cudnn, tensorrt" in text
    assert "--fact date=YYYY-MM-DD" in text and "--fact cudnn=VERSION" in text
    supplied = load_release("25.10", {"cudnn": "9.14.0.64", "tensorrt": "10.13.3.9"})
    assert (supplied.cuda, supplied.cudnn, supplied.cuda_major) == ("13.0.2", "9.14.0.64", "13")


def test_bad_fact_overrides_are_refused() -> None:
    with pytest.raises(SpecgenError, match="not a release fact"):
        load_release("25.03", {"cudnnn": "9.8.0.87"})
    with pytest.raises(SpecgenError, match="not a date"):
        load_release("25.03", {"date": "last tuesday"})
    with pytest.raises(SpecgenError, match="not a version"):
        load_release("25.03", {"cuda": "12.8;rm -rf /"})
    assert load_release("25.03", {"date": "2025-03-26"}).date == datetime.date(2025, 3, 26)


def test_a_fact_without_its_source_or_a_silent_gap_is_an_input_error() -> None:
    data = _file(cuda="13.3.0")
    with pytest.raises(InputError, match=r"release.cuda: \[read_from\] must say where"):
        _parse(data, "x.toml")
    data = _file()
    with pytest.raises(InputError, match=r"release\.cuda is missing: give it, or say why"):
        _parse(data, "x.toml")
    data["unknown"] = {k: "not read" for k in FACT_KEYS if k not in ("triton_version", "date")}
    facts = _parse(data, "x.toml")
    assert facts.missing() == [k for k in FACT_KEYS if k not in ("triton_version", "date")]
    with pytest.raises(InputError, match="not a version"):
        _parse(_file(cuda="13.3.0 %{lua:x}"), "x.toml")
    with pytest.raises(InputError, match=r"is not YY\.MM"):
        _parse(_file(name="latest"), "x.toml")
