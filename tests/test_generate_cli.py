"""The generate CLI turns options into the generate stage's runtime parameters."""

from pathlib import Path

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
    prior = overrides("edit", "--source", "avatar:avatar_000009", "--direction", "prior")
    assert prior["edit"] == {"source": "avatar:avatar_000009", "direction": "prior"}
    guided = overrides("edit", "--source", "avatar:avatar_000009", "--guidance", "2.0")
    assert "sampling" not in guided and guided["edit"]["sampling"] == {"guidance_scale": 2.0}
    with pytest.raises(SystemExit):
        parser().parse_args(["edit", "--direction", "sideways"])
    assert overrides("portrait", "astronaut") == {"mode": "portrait", "portrait": "astronaut"}


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["sketch"])


def test_the_cli_offers_the_pipeline_s_modes_and_samplers() -> None:
    from rodin_pipelines.diffusion.samplers import SamplerName
    from rodin_pipelines.generation.sources import MODES, GenerateMode

    assert MODES == tuple(mode.value for mode in GenerateMode)
    for mode in MODES:
        assert overrides(mode)["mode"] == mode
    for sampler in SamplerName:
        assert overrides("unconditional", "--sampler", sampler.value)["sampling"] == {
            "sampler": sampler.value}


def test_the_project_is_found_from_any_folder_inside_it(tmp_path) -> None:
    from rodin_pipelines.generate_cli import project_root

    (tmp_path / "pyproject.toml").write_text("[tool.kedro]\npackage_name = 'x'\n")
    inner = tmp_path / "data" / "deep"
    inner.mkdir(parents=True)
    assert project_root(inner) == tmp_path.resolve()


def test_outside_a_project_the_cli_says_where_to_run_it(tmp_path) -> None:
    from rodin_pipelines.generate_cli import project_root

    with pytest.raises(SystemExit, match="inside the rodin-pipelines project"):
        project_root(tmp_path)


@pytest.mark.parametrize("name", ["../../x", "/abs/path", ".."])
def test_a_name_that_leaves_the_results_folder_is_a_usage_error(name: str, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        parser().parse_args(["unconditional", "--name", name])
    assert stopped.value.code == 2
    assert "plain folder name" in capsys.readouterr().err
    assert overrides("unconditional", "--name", "mine") == {"mode": "unconditional",
                                                            "name": "mine"}


def test_an_edit_of_a_prompt_starts_from_that_prompt() -> None:
    generate = overrides("edit", "a bald man", "--to", "a man with red hair")
    assert generate == {"mode": "edit", "prompt": "a bald man",
                        "edit": {"source": "text", "source_text": "a bald man",
                                 "edit_text": "a man with red hair"}}
    assert overrides("edit", "a bald man", "--from", "a man", "--to", "x")["edit"][
        "source_text"] == "a man"


@pytest.mark.parametrize("argv, says", [
    (["portrait"], "rodin-generate portrait path/to/face.png"),
    (["edit", "--source", "portrait", "--to", "x"], "rodin-generate portrait path/to/face.png"),
    (["text"], 'rodin-generate text "a smiling woman'),
    (["text", "  "], 'rodin-generate text "a smiling woman'),
    (["edit", "--source", "text", "--to", "x"], 'rodin-generate edit "a bald man" --to'),
    (["unconditional", "a prompt"], "'a prompt' is not used by unconditional: leave it out"),
    (["edit", "a prompt", "--source", "avatar:avatar_000001", "--to", "x"],
     "is not used by edit --source avatar:avatar_000001"),
])
def test_missing_or_unused_values_are_one_line_usage_errors(argv, says, capsys) -> None:
    from rodin_pipelines.generate_cli import main

    with pytest.raises(SystemExit) as stopped:
        main(argv)  # refused before any project is looked for or model loaded
    assert stopped.value.code == 2
    assert says in capsys.readouterr().err


def test_a_prompt_with_a_dollar_brace_reaches_the_stage_unchanged() -> None:
    from kedro.config import OmegaConfigLoader

    from rodin_pipelines.settings import CONFIG_LOADER_ARGS

    prompt = "a robot named ${HOME} with ${ braces }"
    options = {k: v for k, v in CONFIG_LOADER_ARGS.items() if k != "default_run_env"}
    loader = OmegaConfigLoader(str(Path(__file__).resolve().parents[1] / "conf"), env="test",
                               runtime_params=runtime_parameters(
                                   parser().parse_args(["text", prompt])), **options)
    assert loader["parameters"]["generate"]["prompt"] == prompt
