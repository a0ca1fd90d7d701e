"""The demo page's requests and refusals, without a browser, a server or trained models."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from rodin_pipelines.demo.requests import (
    DemoInputError, DemoSettings, edit_block, fresh_result_name, portrait_block, random_block,
    text_block,
)
from rodin_pipelines.demo.service import DemoService
from rodin_pipelines.settings import load_parameters

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.fixture(scope="module")
def parameters() -> dict:
    return load_parameters(CONF, "test")


def test_the_text_tab_overrides_only_what_it_shows(parameters) -> None:
    generate = parameters["generate"]
    block = text_block(generate, "  a bald man, in a red shirt ", 2, 7, 2.5, 10, 5)
    assert block["mode"] == "text" and block["prompt"] == "a bald man, in a red shirt"
    assert (block["count"], block["seed"]) == (2, 7)
    assert block["sampling"] == {**generate["sampling"], "guidance_scale": 2.5,
                                 "base_steps": 10, "upsampler_steps": 5}
    assert block["render"] == generate["render"] and generate.get("prompt") is None  # a copy


@pytest.mark.parametrize("prompt", [None, "", "   "])
def test_an_empty_prompt_is_refused_with_an_example(parameters, prompt) -> None:
    with pytest.raises(DemoInputError, match="Type a prompt first, e.g. 'a smiling woman"):
        text_block(parameters["generate"], prompt, 1, 0, 1.5, 4, 3)


def test_portrait_edit_and_random_blocks(parameters) -> None:
    generate = parameters["generate"]
    with pytest.raises(DemoInputError, match="Upload a portrait first"):
        portrait_block(generate, None, 0)
    assert portrait_block(generate, "/x/face.png", 3)["portrait"] == "/x/face.png"
    assert random_block(generate, 3, 1)["mode"] == "unconditional"
    with pytest.raises(DemoInputError, match="Pick a training avatar"):
        edit_block(generate, None, "a person", "a person with red hair", 1.0, 5, 0)
    with pytest.raises(DemoInputError, match="Type what the avatar should become"):
        edit_block(generate, "avatar:avatar_000001", "a person", " ", 1.0, 5, 0)
    block = edit_block(generate, "avatar:avatar_000001", "a person", "a person with red hair",
                       0.5, 7, 0)
    assert block["edit"]["refine"] == {**generate["edit"]["refine"], "steps": 7}
    assert block["edit"]["strength"] == 0.5 and block["count"] == 1
    assert block["edit"]["sampling"] == generate["edit"]["sampling"]  # the configured edit's
    again = edit_block(generate, "result:x-00", "a person", "a person with red hair", 1.0, 0, 3,
                       sampling={"guidance_scale": 3.0, "base_steps": 20})
    assert again["edit"]["sampling"] == {"guidance_scale": 3.0, "base_steps": 20}


def test_a_result_name_is_new_and_a_plain_folder_name() -> None:
    now = datetime(2026, 12, 5, 11, 30, 0)
    assert fresh_result_name("demo", "text", set(), now) == "demo-text-20261205-113000"
    taken = {"demo-text-20261205-113000-00", "demo-text-20261205-113000-2-00"}
    assert fresh_result_name("demo", "text", taken, now) == "demo-text-20261205-113000-3"
    with pytest.raises(ValueError, match="plain folder name"):
        DemoSettings.from_parameters({**load_parameters(CONF, "test")["demo"],
                                      "name_prefix": "../out"})


class MissingEverything:
    """A project whose models were never trained."""

    parameters: dict = {}
    results_folder = Path("/nonexistent")

    def missing_models(self) -> dict[str, str]:
        return {"embedding_prior": "kedro run --env test --pipeline encoder",
                "clip_weights": "kedro run --env test --pipeline encoder",
                "base_model_weights": "kedro run --env test --pipeline diffusion"}


def test_missing_models_are_named_with_the_runs_that_make_them(parameters) -> None:
    service = DemoService(MissingEverything(), DemoSettings.from_parameters(parameters["demo"]))
    message = service.missing_message()
    assert message == ("This project has no trained `embedding_prior`, `clip_weights`, "
                       "`base_model_weights` yet. Make them with `kedro run --env test "
                       "--pipeline encoder` then `kedro run --env test --pipeline diffusion`, "
                       "then restart `rodin-demo`.")
    with pytest.raises(DemoInputError, match="--pipeline encoder"):
        service.models()
