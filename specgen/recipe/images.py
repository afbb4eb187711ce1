"""Turn a Dockerfile's instructions into an Image of the recipe.

Docker's scoping is followed: ARGs before the first FROM are global and usable in FROM; inside a
stage an ARG (re)declares a variable, ENV sets one, and RUN sees both as environment variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath

from specgen.errors import InputError
from specgen.recipe.dockerfile import Instruction, expand_word, key_values, split_words
from specgen.recipe.installs import InstallReader
from specgen.recipe.model import Download, Image, Origin, Stage
from specgen.recipe.shell import Command, Pipeline, parse_shell


def build_image(
    role: str,
    path: str,
    instructions: list[Instruction],
    facts: Mapping[str, str] | None = None,
) -> Image:
    """Read one Dockerfile's instructions; shell errors name the file and line."""
    name = PurePath(path).name
    image = Image(role=role, file=name)
    global_args: dict[str, str | None] = {}
    scope: dict[str, str | None] = {}
    in_stage = False
    for ins in instructions:
        origin = Origin(name, ins.line)
        try:
            if ins.keyword == "ARG":
                for key, value in _arg_pairs(ins.text, scope if in_stage else global_args):
                    if in_stage:
                        default = value if value is not None else global_args.get(key)
                        scope[key] = default
                        image.args[key] = default
                    else:
                        global_args[key] = value
                        image.args[key] = value
            elif ins.keyword == "FROM":
                in_stage = True
                scope = {}
                image.stages.append(_stage(ins, global_args, origin))
            elif ins.keyword == "ENV":
                for key, value in key_values(ins.text, scope):
                    scope[key] = value
                    image.env[key] = value
            elif ins.keyword == "LABEL":
                for key, value in key_values(ins.text, scope):
                    image.labels[key] = value
            elif ins.keyword == "RUN":
                _run(image, ins, path, scope, facts or {})
            elif ins.keyword in ("COPY", "ADD"):
                _copy(image, ins, scope, origin)
        except ValueError as err:
            raise InputError(path, f"{ins.keyword}: {err}", ins.line) from None
    if not image.stages:
        raise InputError(path, "no FROM instruction: not a Dockerfile")
    return image


def _arg_pairs(text: str, variables: Mapping[str, str | None]) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = []
    for word in split_words(text):
        key, sep, value = word.partition("=")
        pairs.append((key, expand_word(value, variables) if sep else None))
    return pairs


def _stage(ins: Instruction, global_args: Mapping[str, str | None], origin: Origin) -> Stage:
    words = split_words(ins.text)
    if not words:
        raise ValueError("FROM needs an image")
    base = expand_word(words[0], global_args)
    stage_name = None
    if len(words) >= 3 and words[1].upper() == "AS":
        stage_name = words[2]
    elif len(words) != 1:
        raise ValueError(f"expected 'FROM image [AS name]', got '{ins.text.strip()}'")
    return Stage(base, stage_name, origin)


def _run(
    image: Image,
    ins: Instruction,
    path: str,
    scope: Mapping[str, str | None],
    facts: Mapping[str, str],
) -> None:
    name = PurePath(path).name
    reader = InstallReader(image, lambda offset: Origin(name, ins.line_at(offset)))
    exec_form = ins.json_form()
    if exec_form is not None:
        reader.read([Pipeline((Command(tuple(exec_form), 0),))])
        return
    pipelines = parse_shell(ins.text, path, ins.line_at, scope, facts)
    reader.read(pipelines)
    for body in ins.heredocs:
        # A heredoc body is the script itself; lines are reported at the instruction.
        reader.read(parse_shell(body, path, lambda _o: ins.line, scope, facts))


def _copy(image: Image, ins: Instruction, scope: Mapping[str, str | None], origin: Origin) -> None:
    exec_form = ins.json_form()
    words = exec_form if exec_form is not None else split_words(ins.text)
    if len(words) < 2:
        raise ValueError(f"{ins.keyword} needs a source and a destination")
    *sources, destination = [expand_word(w, scope) for w in words]
    flags = " ".join(ins.flags)
    image.copies.append(" ".join(filter(None, [flags, *sources, destination])))
    if ins.keyword == "ADD":
        for source in sources:
            if source.startswith(("http://", "https://")):
                image.downloads.append(Download(source, destination, origin, "ADD"))
