"""``rodin-generate``: the ``generate`` stage from the command line, prompts with commas included.

    rodin-generate text "a smiling woman with long red hair, round glasses" --count 2
    rodin-generate portrait astronaut            # or a path to a PNG/JPEG portrait
    rodin-generate edit --source avatar:avatar_000009 --to "a person with red hair"
    rodin-generate edit "a bald man" --to "a man with red hair"   # the edit starts from text
    rodin-generate unconditional --count 4 --seed 7

Runs ``kedro run --pipeline generate`` in the Kedro project around the working directory (found
as ``kedro`` finds it) through a Kedro session, with the options as runtime parameters (so no
``--params`` string quoting), and prints where results landed.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from rodin_pipelines.diffusion.samplers import SamplerName
from rodin_pipelines.folder_names import checked_folder_name
from rodin_pipelines.generation.latents import EDIT_DIRECTIONS
from rodin_pipelines.generation.sources import MODES

OUTPUT_FOLDER = "data/07_model_output/generated"


def project_root(start: Path | None = None, command: str = "rodin-generate") -> Path:
    """The Kedro project containing ``start`` (the working directory): the same discovery as
    the ``kedro`` command, so it works for an installed package, not only an editable one."""
    from kedro.utils import find_kedro_project

    root = find_kedro_project((start or Path.cwd()).resolve())
    if root is None:
        raise SystemExit(f"{command}: run it inside the rodin-pipelines project (no "
                         "pyproject.toml with [tool.kedro] here or above)")
    return root


def result_name(name: str) -> str:
    """``--name`` checked as a plain folder name, so results cannot land outside data/."""
    try:
        return checked_folder_name(name, "--name")
    except ValueError as error:  # argparse turns this into a usage error naming the option
        raise argparse.ArgumentTypeError(str(error)) from None


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(prog="rodin-generate", description=__doc__,
                                       formatter_class=argparse.RawDescriptionHelpFormatter)
    commands.add_argument("mode", choices=MODES)
    commands.add_argument("value", nargs="?", default=None,
                          help="the prompt (text) or the portrait path / 'astronaut' (portrait)")
    commands.add_argument("--count", type=int, default=None)
    commands.add_argument("--seed", type=int, default=None)
    commands.add_argument("--name", default=None, type=result_name,
                          help="results go to <name>-NN/ (a plain folder name)")
    commands.add_argument("--guidance", type=float, default=None, help="guidance scale")
    commands.add_argument("--steps", type=int, nargs=2, default=None, metavar=("BASE", "UP"),
                          help="network evaluations of the base model and the upsampler")
    commands.add_argument("--sampler", choices=[name.value for name in SamplerName], default=None)
    commands.add_argument("--source", default=None,
                          help="edit: avatar:<id> | portrait | text | unconditional")
    commands.add_argument("--from", dest="source_text", default=None,
                          help="edit: text describing the source (default: the prompt given, "
                          "else 'a person')")
    commands.add_argument("--to", dest="edit_text", default=None, help="edit: the target text")
    commands.add_argument("--strength", type=float, default=None,
                          help="edit strength (renoise: the noise level in (0, 1])")
    commands.add_argument("--direction", choices=EDIT_DIRECTIONS, default=None,
                          help="edit: the CLIP text difference itself (text), carried into "
                          "image-embedding space by the prior (prior), the latent re-noised to "
                          "--strength in (0, 1] and denoised by the prior given --to (renoise), "
                          "or the mean of the stored avatars that difference ranks highest "
                          "minus the mean of all (neighbours)")
    commands.add_argument("--env", default=None, help="Kedro environment (e.g. test, paper)")
    return commands


def edit_source(args: argparse.Namespace) -> str | None:
    """What an edit starts from: ``--source``, else ``text`` when a prompt is given (``edit
    "a bald man" --to "a man with red hair"``), else the configured ``generate.edit.source``."""
    if args.source is not None:
        return args.source
    return "text" if args.value is not None else None


def usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments, as one line saying what to type instead."""
    source = edit_source(args) if args.mode == "edit" else None
    wants_text = args.mode == "text" or source == "text"
    wants_portrait = args.mode == "portrait" or source == "portrait"
    if wants_portrait and not args.value:
        return ("a portrait needs an image: rodin-generate portrait path/to/face.png "
                "(or the built-in photo: rodin-generate portrait astronaut)")
    if wants_text and not (args.value or "").strip():
        example = '"a bald man" --to "a man with red hair"' if args.mode == "edit" else \
            '"a smiling woman with long red hair"'
        return f"{args.mode} needs a prompt: rodin-generate {args.mode} {example}"
    if args.value is not None and not (wants_text or wants_portrait):
        return (f"{args.value!r} is not used by {args.mode}"
                + (f" --source {source}" if source else "")
                + ": leave it out (a prompt goes with text or edit --source text, a path with "
                "portrait or edit --source portrait)")
    return None


def literal(text: str) -> str:
    """``text`` as a runtime parameter Kedro's config parser keeps as is (``${`` would start an
    interpolation)."""
    return text.replace("${", "\\${")


def runtime_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The ``generate`` parameters the options override (only those given)."""
    generate: dict[str, Any] = {"mode": args.mode}
    source = edit_source(args) if args.mode == "edit" else None
    if args.value is not None and (args.mode == "text" or source == "text"):
        generate["prompt"] = literal(args.value)
    if args.value is not None and (args.mode == "portrait" or source == "portrait"):
        generate["portrait"] = literal(args.value)
    for key, value in (("count", args.count), ("seed", args.seed), ("name", args.name)):
        if value is not None:
            generate[key] = value
    sampling = {k: v for k, v in (("guidance_scale", args.guidance), ("sampler", args.sampler))
                if v is not None}
    if args.steps is not None:
        sampling.update(base_steps=args.steps[0], upsampler_steps=args.steps[1])
    if sampling and args.mode != "edit":
        generate["sampling"] = sampling
    source_text = args.source_text
    if source_text is None and args.source is None and source == "text":
        source_text = args.value  # the edit's direction starts from the text given for it
    edit = {k: literal(v) if isinstance(v, str) else v
            for k, v in (("source", source), ("source_text", source_text),
                         ("edit_text", args.edit_text), ("strength", args.strength),
                         ("direction", args.direction))
            if v is not None}
    if sampling and args.mode == "edit":  # an edit samples with generate.edit.sampling
        edit["sampling"] = sampling
    if edit:
        generate["edit"] = edit
    return {"generate": generate}


def main(argv: list[str] | None = None) -> None:
    commands = parser()
    args = commands.parse_args(argv)
    problem = usage_problem(args)
    if problem is not None:
        commands.error(problem)
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    root = project_root()
    bootstrap_project(root)
    with KedroSession.create(project_path=root, env=args.env,
                             runtime_params=runtime_parameters(args)) as session:
        session.run(pipeline_name="generate")
    print(f"results in {root / OUTPUT_FOLDER}")


if __name__ == "__main__":
    main()
