"""Where a generated avatar's latent comes from: the prior (nothing or a prompt, with guidance),
a portrait, an existing avatar; the ``generate.mode`` sources and their errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_clip import table_clip  # noqa: E402
from rodin_pipelines.diffusion.denoiser import Denoiser  # noqa: E402
from rodin_pipelines.diffusion.embedding_prior_sampling import renoise_embeddings  # noqa: E402
from rodin_pipelines.diffusion.schedule import NoiseSchedule, ScheduleSettings  # noqa: E402
from rodin_pipelines.generation.latents import (  # noqa: E402
    edited_latents,
    frontal_embeddings,
    latent_batches,
    neighbour_edit_direction,
    prior_edit_direction,
    portrait_latent,
    prior_latents,
)
from rodin_pipelines.generation.sources import (  # noqa: E402
    MODES,
    portrait_image,
    source_latents,
)

STATISTICS = {"mean": torch.tensor([1.0, 0.0]), "std": torch.tensor([1.0, 1.0])}
CLIP = table_clip({"a person": [1.0, 0.0], "a hat": [0.0, 1.0], "a red hat": [0.0, 3.0]})
SAMPLING = {"sampler": "ddim", "steps": 3, "guidance_scale": 2.0}


class TextEcho(nn.Module):
    """An x0 prior network: the text embedding when kept, 0 when dropped or absent."""

    def forward(self, x: Tensor, t: Tensor, latent: Tensor | None = None,
                latent_keep: Tensor | None = None) -> Tensor:
        if latent is None:
            return torch.zeros_like(x)
        keep = torch.ones(len(x)) if latent_keep is None else latent_keep.float()
        return latent * keep[:, None]


def prior() -> Denoiser:
    return Denoiser(TextEcho(), NoiseSchedule(ScheduleSettings(steps=50)), "x0")


def test_unconditional_prior_latents_are_the_unit_mean_here() -> None:
    # The toy predicts 0 in standardised units: de-standardised, the mean (1, 0), unit already.
    latents = prior_latents(prior(), STATISTICS, 3, steps=4)
    assert latents.shape == (3, 2)
    assert torch.allclose(latents, torch.tensor([[1.0, 0.0]] * 3))


def test_a_prompt_is_embedded_and_guided() -> None:
    # Guidance 2 on the text (0, 1): x0 = (0, 2), plus the mean (1, 0) -> (1, 2) / √5.
    latents = prior_latents(prior(), STATISTICS, 2, CLIP, "a hat", steps=4, guidance_scale=2.0)
    assert torch.allclose(latents, torch.tensor([[1.0, 2.0]] * 2) / 5 ** 0.5)
    with pytest.raises(ValueError, match="a prompt needs the CLIP"):
        prior_latents(prior(), STATISTICS, 1, None, "a hat")


def test_a_portrait_latent_is_its_image_embedding() -> None:
    portrait = torch.zeros(8, 8, 4)
    portrait[..., 3] = 1.0
    portrait[..., 0] = 1.0  # opaque red
    latent = portrait_latent(CLIP, portrait)
    assert latent.shape == (1, 3)
    assert float(latent.norm()) == pytest.approx(1.0)
    assert int(latent.argmax()) == 0  # red is the largest of the normalised means


def test_an_edit_moves_latents_towards_the_edit_text() -> None:
    latents = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2]]), dim=-1)
    edited = edited_latents(CLIP, latents, "a person", "a hat", strength=1.0)
    assert edited.shape == (1, 2)
    assert float(edited[0, 1]) > float(latents[0, 1])  # towards "a hat" = (0, 1)
    assert float(edited[0, 0]) < float(latents[0, 0])


def test_the_prior_direction_is_the_change_of_the_prior_latents_between_the_texts() -> None:
    # Guided prior latents: "a person" -> (3, 0)/3 = (1, 0); "a hat" -> (1, 2)/√5 (as above).
    direction = prior_edit_direction(prior(), STATISTICS, CLIP, "a person", "a hat", SAMPLING,
                                     samples=3)
    expected = torch.tensor([1 / 5 ** 0.5 - 1, 2 / 5 ** 0.5])
    assert torch.allclose(direction, expected / expected.norm(), atol=1e-6)
    latents = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2]]), dim=-1)
    edited = edited_latents(CLIP, latents, "a person", "a hat", 0.5, "prior", prior(),
                            STATISTICS, SAMPLING, direction_samples=3)
    assert torch.allclose(edited, torch.nn.functional.normalize(latents + 0.5 * direction,
                                                                dim=-1))
    batches = latent_batches(CLIP, latents, {"source_text": "a person", "edit_text": "a hat",
                                             "strength": 0.5, "direction": "prior",
                                             "direction_samples": 3},
                             prior(), STATISTICS, SAMPLING)
    assert torch.allclose(batches["edited-"], edited)


class NoNoise(nn.Module):
    """An eps network that sees no noise: x0 = x_t / alpha_t, so DDIM carries x_t unchanged."""

    def forward(self, x: Tensor, t: Tensor, latent: Tensor | None = None,
                latent_keep: Tensor | None = None) -> Tensor:
        return torch.zeros_like(x)


def test_renoise_noises_the_latent_to_its_level_and_denoises_it() -> None:
    schedule = NoiseSchedule(ScheduleSettings(steps=50))
    denoiser = Denoiser(NoNoise(), schedule, "eps")
    latents = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2], [0.3, 1.0]]), dim=-1)
    texts = torch.tensor([[0.0, 1.0]])
    distances = []
    for level in (0.1, 0.5, 0.9):
        edited = renoise_embeddings(denoiser, STATISTICS, latents, texts, level, steps=5, seed=3)
        # The first DDIM time at or below level * 49, noised by hand with the same seed:
        start = [t for t in schedule.sampling_timesteps(5) if t <= round(level * 49)][0]
        noise = torch.randn(2, 2, generator=torch.Generator().manual_seed(3))
        abar = float(schedule.alpha_bar(torch.tensor(start)))
        clean = latents - STATISTICS["mean"]
        expected = clean + ((1 - abar) / abar) ** 0.5 * noise + STATISTICS["mean"]
        assert torch.allclose(edited, torch.nn.functional.normalize(expected, dim=-1), atol=1e-5)
        distances.append(float((edited - latents).norm()))
    assert distances[0] < distances[1] < distances[2]  # more noise, further from the latent


def test_renoise_at_level_one_forgets_the_latent_and_follows_the_text() -> None:
    latents = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2], [0.3, 1.0]]), dim=-1)
    edited = edited_latents(CLIP, latents, "a person", "a hat", 1.0, "renoise", prior(),
                            STATISTICS, SAMPLING)
    # The guided toy prior's x0 for "a hat" is (0, 2): de-standardised (1, 2) / √5, for both.
    assert torch.allclose(edited, torch.tensor([[1.0, 2.0]] * 2) / 5 ** 0.5, atol=1e-6)
    with pytest.raises(ValueError, match="re-noise level must be in"):
        edited_latents(CLIP, latents, "a person", "a hat", 1.5, "renoise", prior(), STATISTICS,
                       SAMPLING)


def test_edit_direction_errors_say_what_is_missing() -> None:
    latents = torch.tensor([[1.0, 0.0]])
    for direction in ("prior", "renoise"):
        with pytest.raises(ValueError, match=f"'{direction}' needs the prior"):
            edited_latents(CLIP, latents, "a person", "a hat", 1.0, direction)
    with pytest.raises(ValueError, match="unknown edit direction 'sideways'"):
        edited_latents(CLIP, latents, "a person", "a hat", 1.0, "sideways")
    with pytest.raises(ValueError, match="the same latents"):
        prior_edit_direction(prior(), STATISTICS, CLIP, "a person", "a person", SAMPLING, 2)


# A 3-d world: identity, red hair, shirt. The CLIP text difference "a person" -> "a person with
# red hair" also leans on the shirt axis, as the real one leans on clothing.
HAIR_CLIP = table_clip({"a person": [1.0, 0.0, 0.0], "a person with red hair": [1.0, 1.0, 0.5]})
HAIR_BANK = torch.nn.functional.normalize(torch.tensor(
    [[1.0, red, shirt] for red in (0.8, 0.0) for shirt in (0.6, -0.6, 0.3, -0.3)]), dim=-1)


def test_the_neighbours_direction_keeps_what_the_retrieved_avatars_share() -> None:
    text_direction = HAIR_CLIP.model.texts[1] - HAIR_CLIP.model.texts[0]
    assert text_direction[2] / text_direction[1] == 0.5  # the text difference moves the shirt
    direction = neighbour_edit_direction(HAIR_CLIP, HAIR_BANK, "a person",
                                         "a person with red hair", neighbours=4)
    # The 4 red-haired rows score highest; their shirts average out, so only hair (and the
    # identity axis, which renormalisation shortens) is left.
    assert torch.isclose(direction.norm(), torch.tensor(1.0))
    assert direction[1] > 0.9 and abs(float(direction[2])) < 1e-6
    latents = HAIR_BANK[4:5]  # not red-haired, shirt 0.6
    edited = edited_latents(HAIR_CLIP, latents, "a person", "a person with red hair", 1.0,
                            "neighbours", direction_samples=4, bank=HAIR_BANK)
    assert edited[0, 1] > 0.4  # red hair now
    by_text = edited_latents(HAIR_CLIP, latents, "a person", "a person with red hair", 1.0)
    assert by_text[0, 2] > latents[0, 2] >= edited[0, 2]  # the text edit reddens the shirt too
    with pytest.raises(ValueError, match="needs the stored avatars' embeddings"):
        edited_latents(HAIR_CLIP, latents, "a person", "a person with red hair", 1.0,
                       "neighbours")
    with pytest.raises(ValueError, match="0 < neighbours < the 8 stored embeddings"):
        neighbour_edit_direction(HAIR_CLIP, HAIR_BANK, "a person", "a person with red hair", 8)


def test_the_bank_is_the_frontal_rows_in_id_order_without_the_excluded() -> None:
    stored = {"b": torch.tensor([[2.0, 0.0], [9.0, 9.0]]), "a": torch.tensor([[1.0, 0.0]]),
              "c": torch.tensor([[3.0, 0.0], [9.0, 9.0]])}
    assert torch.equal(frontal_embeddings(stored), torch.tensor([[1.0, 0.0], [2.0, 0.0],
                                                                 [3.0, 0.0]]))
    assert torch.equal(frontal_embeddings(stored, excluding={"b"}),
                       torch.tensor([[1.0, 0.0], [3.0, 0.0]]))


def test_an_edit_samples_the_unedited_and_the_edited_latents_side_by_side() -> None:
    latents = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2]]), dim=-1)
    assert list(latent_batches(CLIP, latents, None)) == [""]
    edit = {"source_text": "a person", "edit_text": "a hat", "strength": 1.0}
    batches = latent_batches(CLIP, latents, edit)
    assert list(batches) == ["unedited-", "edited-"]  # result-name prefixes, in writing order
    assert torch.equal(batches["unedited-"], latents)
    assert torch.equal(batches["edited-"], edited_latents(CLIP, latents, "a person", "a hat", 1.0))


def test_sources_by_mode() -> None:
    avatars = {"a0": torch.tensor([[0.6, 0.8], [0.0, 1.0]])}
    common = dict(seed=0, clip=CLIP, statistics=STATISTICS, avatar_embeddings=avatars,
                  portrait=None, prior_sampling=SAMPLING)
    from_avatar = source_latents("avatar:a0", 3, None, prior=prior(), **common)
    assert torch.equal(from_avatar, torch.tensor([[0.6, 0.8]] * 3))  # its frontal view's e

    guided = prior()
    text = source_latents("text", 2, "a hat", prior=guided, **common)
    assert torch.allclose(text, torch.tensor([[1.0, 2.0]] * 2) / 5 ** 0.5)
    assert guided.evaluations == SAMPLING["steps"]

    # ``unconditional`` ignores the prompt.
    nothing = source_latents("unconditional", 2, "a hat", prior=prior(), **common)
    assert torch.allclose(nothing, torch.tensor([[1.0, 0.0]] * 2))


def test_source_errors_say_what_to_do() -> None:
    common = dict(count=1, seed=0, clip=CLIP, prior=prior(), statistics=STATISTICS,
                  avatar_embeddings={"a0": torch.ones(1, 2), "a1": torch.ones(1, 2)},
                  portrait=None, prior_sampling=SAMPLING)
    with pytest.raises(ValueError, match=r"no avatar 'zz'.*\['a0', 'a1'\]"):
        source_latents("avatar:zz", prompt=None, **common)
    with pytest.raises(ValueError, match="generate.mode=text needs a prompt"):
        source_latents("text", prompt="  ", **common)
    with pytest.raises(ValueError, match="unknown generate source 'sketch'"):
        source_latents("sketch", prompt=None, **common)
    assert MODES == ("unconditional", "text", "portrait", "edit")


def test_the_astronaut_portrait_is_framed_opaque() -> None:
    framed = portrait_image("astronaut", 16)
    assert framed.shape == (16, 16, 4)
    assert bool((framed[..., 3] == 1.0).all())
