"""The generate CLI turns options into the generate stage's runtime parameters."""

import pytest

from rodin_pipelines.generate_cli import parser, runtime_parameters


def overrides(*argv: str) -> dict:
    return runtime_parameters(parser().parse_args(list(argv)))["generate"]


def test_a_prompt_with_commas_stays_one_parameter() -> None:
    generate = overrides("text", "a smiling woman with red hair, round glasses", "--count", "3",
                         "--steps", "20", "10", "--guidance", "2.5")
    assert generate == {"mode": "text", "prompt": "a smiling woman with red hair, round glasses",
                        "count": 3, "sampling": {"guidance_scale": 2.5, "base_steps": 20,
                                                 "upsampler_steps": 10}}


def test_edit_options_map_to_the_edit_block() -> None:
    generate = overrides("edit", "--source", "avatar:avatar_000009", "--to",
                         "a person with red hair", "--strength", "0.5")
    assert generate == {"mode": "edit", "edit": {"source": "avatar:avatar_000009",
                                                 "edit_text": "a person with red hair",
                                                 "strength": 0.5}}
    assert overrides("portrait", "astronaut") == {"mode": "portrait", "portrait": "astronaut"}


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["sketch"])
