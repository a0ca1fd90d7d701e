"""Every ``_target_`` block of every environment builds."""

from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader

from rodin_pipelines.configuration import CUSTOM_RESOLVERS
from rodin_pipelines.instantiation import build_from_config, target_blocks

CONF = Path(__file__).resolve().parents[1] / "conf"
ENVIRONMENTS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name not in {"base", "local"})


def parameters_of(env: str) -> dict:
    loader = OmegaConfigLoader(
        str(CONF), base_env="base", default_run_env=env,
        merge_strategy={"parameters": "soft"}, custom_resolvers=CUSTOM_RESOLVERS,
    )
    return loader["parameters"]


@pytest.mark.parametrize("env", ["base", *ENVIRONMENTS])
def test_every_target_block_instantiates(env):
    blocks = list(target_blocks(parameters_of(env)))
    assert blocks, "expected at least the renderer backend"
    for path, block in blocks:
        built = build_from_config(block)
        assert type(built).__module__ + "." + type(built).__qualname__ == block["_target_"], path


def test_soft_merge_keeps_sibling_keys():
    test = parameters_of("test")["render"]
    assert test["views"]["image_size"] == 32  # overridden by conf/test
    assert test["camera_rig"]["radius"] == parameters_of("base")["render"]["camera_rig"]["radius"]
    assert test["backend"]["max_density"] == 250.0  # sibling of overridden backend keys


def test_a_block_without_target_is_a_clear_error():
    with pytest.raises(ValueError, match="_target_"):
        build_from_config({"grid_resolution": 3})
