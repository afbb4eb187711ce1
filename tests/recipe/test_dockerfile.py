"""Dockerfile constructs, on the project's own fixtures (tests/fixtures/dryrun-mini)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES

from specgen.errors import InputError
from specgen.recipe.dockerfile import expand_word, key_values, parse_dockerfile
from specgen.recipe.dryrun import load_recipe

MINI = FIXTURES / "dryrun-mini"


def test_continuations_comments_and_blank_lines_inside_run() -> None:
    recipe = load_recipe([MINI / "Dockerfile.buildbase"])
    image = recipe.images["buildbase"]
    assert [(p.name, p.pin) for p in image.apt] == [
        ("libfoo-dev", None), ("libbar1", "2.0*"), ("tool", "1:1.2.3"),
        ("one-dev", None), ("two-dev", None),
    ]  # fmt: skip
    assert image.apt[0].origin.line == 14


def test_args_before_and_after_from_stages_and_env_forms() -> None:
    image = load_recipe([MINI / "Dockerfile.buildbase"]).images["buildbase"]
    assert [s.base_image for s in image.stages] == ["example.invalid/base:99.01", "builder"]
    assert image.stages[0].name == "builder"
    assert image.base_image == "example.invalid/base:99.01"
    assert image.env == {"TOOL_VERSION": "1.2.3", "A": "1", "B": "two words"}
    assert image.args["TRITON_VERSION"] == "9.9.0"


def test_if_pip_checksum_repository_and_buildkit_mount() -> None:
    image = load_recipe([MINI / "Dockerfile.buildbase"]).images["buildbase"]
    assert image.pip_requirements() == ["numpy<2", "pybind11[global]"]
    secret = next(p for p in image.pip if p.kind == "file")
    assert secret.requirement == "/run/secrets/req"
    assert secret.index_url == "https://pypi.invalid/simple"
    (download,) = image.downloads
    assert download.destination == "/tmp/x.tar.gz"
    assert download.sha256 == "0123456789abcdef" * 4
    (repo,) = image.repositories
    assert repo.url == "https://repo.invalid/apt" and repo.components == ("main",)
    assert repo.options == ("arch=amd64", "signed-by=/k.gpg")
    assert image.copies == ["--from=builder /a /b"]


def test_one_very_long_line_and_legacy_env_padding(tmp_path: Path) -> None:
    names = [f"pkg{i}" for i in range(400)]
    text = "FROM base\nENV K1         padded value\nRUN apt-get install -y " + " ".join(names)
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    image = load_recipe([path]).images["runtime"]
    assert image.apt_names() == names
    assert image.env == {"K1": "padded value"}


def test_escape_directive_and_exec_form(tmp_path: Path) -> None:
    text = (
        "# escape=`\nFROM base\nRUN apt-get install -y a `\n    b\n"
        'RUN ["pip3", "install", "x==1"]\n'
    )
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    image = load_recipe([path]).images["runtime"]
    assert image.apt_names() == ["a", "b"]
    assert image.pip_requirements() == ["x==1"]


def test_unknown_instruction_names_file_and_line() -> None:
    with pytest.raises(InputError) as err:
        parse_dockerfile("FROM a\nRUN x\nFOO bar\n", "Dockerfile")
    assert str(err.value) == "Dockerfile:3: unknown instruction 'FOO'"


def test_word_rules() -> None:
    assert expand_word('"a b"${X}', {"X": "c"}) == "a bc"
    assert expand_word("${X:-d}", {}) == "d"
    assert expand_word("$PATH:x", {}) == "$PATH:x"
    assert key_values('A=1 B="x y"', {}) == [("A", "1"), ("B", "x y")]
    assert key_values("K  v w", {}) == [("K", "v w")]


def test_curl_output_forms(tmp_path: Path) -> None:
    text = (
        "FROM base\n"
        "RUN curl -fsSLo /tmp/a.tgz https://h.invalid/a.tgz"
        " && curl -O https://h.invalid/dir/b.zip"
        " && curl -sL https://h.invalid/key | gpg --dearmor -o /k.gpg\n"
    )
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    downloads = load_recipe([path]).images["runtime"].downloads
    assert [(d.url, d.destination, d.piped_to) for d in downloads] == [
        ("https://h.invalid/a.tgz", "/tmp/a.tgz", None),
        ("https://h.invalid/dir/b.zip", "b.zip", None),
        ("https://h.invalid/key", None, "gpg"),
    ]


def test_error_inside_a_default_in_a_dockerfile_run_names_the_dockerfile(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM scratch\nRUN true \\\n    && echo ${X:-`}\n")
    with pytest.raises(InputError) as err:
        load_recipe([path])
    message = str(err.value)
    assert message.startswith(f"{path}:3: ") and "<default>" not in message
