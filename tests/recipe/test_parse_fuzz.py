"""Random and mutated Dockerfiles: the parser either reads them or raises a clean InputError."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES
from fuzzing import fixed_seed_in_ci
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from specgen.errors import InputError
from specgen.recipe.dryrun import load_recipe

MINI = FIXTURES / "dryrun-mini" / "Dockerfile.buildbase"
SEED = MINI.read_bytes()
ALPHABET = st.sampled_from(list(b"\\\"'`$(){}[];&|<>#=\n\t -abcFROMRUNENVARG0123"))


def _parse_bytes(tmp: Path, data: bytes) -> None:
    path = tmp / "Dockerfile"
    path.write_bytes(data)
    try:
        load_recipe([path])
    except InputError as err:
        message = str(err)
        assert message.startswith(str(path)) and "\n" not in message


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@fixed_seed_in_ci
@given(data=st.binary(max_size=400))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    _parse_bytes(tmp_path, data)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@fixed_seed_in_ci
@given(
    cuts=st.lists(st.tuples(st.integers(0, len(SEED)), st.integers(0, 8)), max_size=4),
    inserts=st.lists(
        st.tuples(st.integers(0, len(SEED)), st.lists(ALPHABET, min_size=1, max_size=6)),
        max_size=4,
    ),
)
# Found at random once: `{a=`` ` `` after the `$` of `${TOOL_VERSION}` leaves a backtick open
# inside a parameter default; its error named `<default>:1` instead of the Dockerfile.
@example(cuts=[], inserts=[(SEED.index(b"${TOOL_VERSION}") + 1, list(b"{a=`"))])
def test_mutated_dockerfiles_never_crash(tmp_path: Path, cuts: list, inserts: list) -> None:
    data = bytearray(SEED)
    for position, length in cuts:
        del data[position : position + length]
    for position, chars in inserts:
        data[position:position] = bytes(chars)
    _parse_bytes(tmp_path, bytes(data))
