"""Every ``_target_`` block of every environment builds."""

import functools
from pathlib import Path

import pytest
from hydra.utils import get_object

from rodin_pipelines.settings import load_parameters
from rodin_pipelines.instantiation import build_from_config, target_blocks

CONF = Path(__file__).resolve().parents[1] / "conf"
ENVIRONMENTS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name not in {"base", "local"})


def parameters_of(env: str) -> dict:
    return load_parameters(CONF, env)


CLIP_DIM = 128
"""Embedding size of the default domain CLIP (networks take it from the data at run time)."""


def with_data_sizes(path: str, block: dict, params: dict) -> dict:
    """Networks whose sizes come from the data get them the way their stage's node gives them."""
    if path == "encoder.prior.network":
        from rodin_pipelines.diffusion.networks import prior_network_config

        return prior_network_config(params["encoder"]["prior"], CLIP_DIM, CLIP_DIM)
    if path.startswith("diffusion.") and path.endswith(".network"):
        from rodin_pipelines.diffusion.networks import network_config

        model = params["diffusion"][path.split(".")[1]]
        fit = params["fit"]
        return network_config(model, params["diffusion"], channels=fit["decoder"]["channels"],
                              latent_dim=CLIP_DIM, fitted_resolution=fit["resolution"])
    return block


@pytest.mark.parametrize("env", ["base", *ENVIRONMENTS])
def test_every_target_block_instantiates(env):
    params = parameters_of(env)
    blocks = list(target_blocks(params))
    assert blocks, "expected at least the renderer backend"
    for path, block in blocks:
        built = build_from_config(with_data_sizes(path, block, params))
        if block.get("_partial_"):  # e.g. an optimiser: everything but the parameters
            assert isinstance(built, functools.partial), path
            assert built.func is get_object(block["_target_"]), path
        else:
            assert type(built).__module__ + "." + type(built).__qualname__ == block["_target_"], \
                path


def test_soft_merge_keeps_sibling_keys():
    test = parameters_of("test")["render"]
    assert test["views"]["image_size"] == 32  # overridden by conf/test
    assert test["camera_rig"]["radius"] == parameters_of("base")["render"]["camera_rig"]["radius"]
    assert test["scene"]["max_density"] == 250.0  # sibling of overridden scene keys


def test_a_block_without_target_is_a_clear_error():
    with pytest.raises(ValueError, match="_target_"):
        build_from_config({"grid_resolution": 3})
