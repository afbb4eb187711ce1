"""Shell constructs of RUN lines and cmake_build, read with the real parser."""

from __future__ import annotations

import pytest

from specgen.errors import InputError
from specgen.recipe.shell import line_locator, parse_shell


def argvs(text: str, variables: dict | None = None, facts: dict | None = None) -> list[tuple]:
    pipelines = parse_shell(text, "t.sh", line_locator(text), variables, facts)
    return [c.argv for p in pipelines for c in p.commands if not c.in_substitution]


def test_and_or_semicolon_and_pipes() -> None:
    got = argvs("a x && b y || c; d | e -f")
    assert got == [("a", "x"), ("b", "y"), ("c",), ("d",), ("e", "-f")]


def test_quotes_and_escapes_are_removed() -> None:
    assert argvs(r"""cmd "a b" 'c d' e\ f "g\"h" 'i'"j"k""") == [
        ("cmd", "a b", "c d", "e f", 'g"h', "ijk")
    ]


def test_known_variables_expand_and_unknown_stay_as_written() -> None:
    got = argvs('apt-get install -y tool=1:${V} "$W" ${U:-dflt} $MISSING', {"V": "3.3.6", "W": "w"})
    assert got == [("apt-get", "install", "-y", "tool=1:3.3.6", "w", "dflt", "$MISSING")]


def test_assignments_earlier_in_the_script_are_used() -> None:
    assert argvs("X=1.2; export Y=abc && tool $X $Y") == [("tool", "1.2", "abc")]


def test_for_loop_over_a_literal_list_is_unrolled() -> None:
    assert argvs("for p in a b; do inst $p; done") == [("inst", "a"), ("inst", "b")]


def test_for_loop_over_unknown_values_walks_the_body_once() -> None:
    assert argvs("for p in $(ls); do inst $p; done") == [("inst", "$p")]


def test_if_with_a_decidable_condition_takes_one_branch() -> None:
    text = 'if [ "$M" = "x" ]; then a; elif [ -n "$M" ]; then b; else c; fi'
    assert argvs(text, {"M": "x"}) == [("a",)]
    assert argvs(text, {"M": "y"}) == [("b",)]


def test_if_with_an_unknown_condition_walks_every_branch() -> None:
    assert argvs("if [ -e f ]; then a; else b; fi") == [("a",), ("b",)]


def test_subshells_groups_and_substitutions() -> None:
    text = "(cd /tmp && tar xf x) && { inst a; } && echo $(inner1 && inner2) `inner3`"
    pipelines = parse_shell(text, "t", line_locator(text))
    outer = [c.argv[0] for p in pipelines for c in p.commands if not c.in_substitution]
    inner = [c.argv[0] for p in pipelines for c in p.commands if c.in_substitution]
    assert outer == ["cd", "tar", "inst", "echo"]
    assert inner == ["inner1", "inner2", "inner3"]


def test_arch_probe_is_predicted_from_facts() -> None:
    got = argvs('echo "arch=$(dpkg --print-architecture)"', facts={"dpkg_arch": "arm64"})
    assert got == [("echo", "arch=arm64")]


def test_redirects_heredoc_and_herestring() -> None:
    text = "echo deb x > /etc/apt/sources.list.d/a.list && sha256sum -c <<< 'h  f'"
    pipelines = parse_shell(text, "t", line_locator(text))
    assert pipelines[0].commands[0].stdout == "/etc/apt/sources.list.d/a.list"
    assert pipelines[1].commands[0].stdin_text == "h  f"


def test_redirect_after_a_list_binds_to_the_last_command() -> None:
    text = "a && b | tee f > /dev/null"
    pipelines = parse_shell(text, "t", line_locator(text))
    assert [c.argv for c in pipelines[-1].commands] == [("b",), ("tee", "f")]


def test_line_numbers_and_unterminated_quote() -> None:
    text = 'ok\nfine\necho "never closed\n'
    with pytest.raises(InputError) as err:
        parse_shell(text, "script.sh", line_locator(text))
    assert str(err.value).startswith("script.sh:3: unterminated quote")


def test_syntax_error_names_the_line() -> None:
    text = "a\nif then fi fi )\n"
    with pytest.raises(InputError) as err:
        parse_shell(text, "s.sh", line_locator(text))
    assert "s.sh:2:" in str(err.value) or "s.sh:1:" in str(err.value)


def test_error_inside_a_parameter_default_names_the_file_and_its_line() -> None:
    # Found by the fuzz test: a backtick left open in `${a=...}` was reported at `<default>:1`.
    text = "echo ok\necho ${a=`}\n"
    with pytest.raises(InputError) as err:
        parse_shell(text, "Dockerfile", line_locator(text))
    assert str(err.value).startswith("Dockerfile:2: ")

