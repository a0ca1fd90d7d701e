"""Scoring generated avatars against their condition: agreement, prompts, CLIP rank."""

from __future__ import annotations

import torch

from dataclasses import replace

from rodin_pipelines.avatars.attributes import Glasses, HairColour, Hairstyle, Hat, sample_attributes
from rodin_pipelines.evaluation.generation_fidelity import (ScoredPrompt, attribute_agreement,
                                                            hidden_by_prompt,
                                                            own_rank_by_similarity,
                                                            prompt_agreement, scored_prompts,
                                                            shown_of)

NONE_HAT = list(Hat).index(Hat.NONE)
NONE_GLASSES = list(Glasses).index(Glasses.NONE)


def test_glasses_agree_by_presence_and_the_rest_by_kind() -> None:
    round_, square = list(Glasses).index(Glasses.ROUND), list(Glasses).index(Glasses.SQUARE)
    truth = {"clothing_colour": torch.tensor([0, 1, 2, 3]), "hair_colour": torch.tensor([0, 0, 0, 0]),
             "hat": torch.tensor([NONE_HAT, 1, 2, 3]),
             "glasses": torch.tensor([round_, NONE_GLASSES, square, NONE_GLASSES])}
    predicted = {"clothing_colour": torch.tensor([0, 1, 0, 0]), "hair_colour": torch.tensor([0, 0, 0, 1]),
                 "hat": torch.tensor([NONE_HAT, 2, 2, 3]),
                 "glasses": torch.tensor([square, NONE_GLASSES, NONE_GLASSES, NONE_GLASSES])}
    assert attribute_agreement(predicted, truth) == {
        "clothing_colour": 0.5, "hair_colour": 0.75, "hat": 0.75, "glasses": 0.75}


def test_hair_colour_counts_only_where_the_truth_shows_it() -> None:
    base = replace(sample_attributes(0), hat=Hat.NONE, hairstyle=Hairstyle.LONG)
    avatars = [base, replace(base, hat=Hat.BEANIE), replace(base, hairstyle=Hairstyle.BUZZ),
               replace(base, hairstyle=Hairstyle.BALD)]
    shown = shown_of(avatars)
    assert shown["hair_colour"].tolist() == [True, False, False, False]
    assert shown["clothing_colour"].all() and shown["hat"].all() and shown["glasses"].all()
    red = list(HairColour).index(HairColour.RED)
    truth = {name: torch.zeros(4, dtype=torch.long) for name in shown}
    predicted = {**truth, "hair_colour": torch.tensor([0, red, red, red])}  # wrong where hidden
    assert attribute_agreement(predicted, truth, shown)["hair_colour"] == 1.0
    assert attribute_agreement(predicted, truth)["hair_colour"] == 0.25
    nothing = {name: torch.zeros(4, dtype=torch.bool) for name in shown}
    assert torch.isnan(torch.tensor(attribute_agreement(predicted, truth, nothing)["hat"]))


def test_a_prompt_naming_a_hat_or_a_shaved_head_does_not_score_its_hair_colour() -> None:
    red = list(HairColour).index(HairColour.RED)
    cap, buzz = list(Hat).index(Hat.CAP), list(Hairstyle).index(Hairstyle.BUZZ)
    assert hidden_by_prompt({}, {"hair_colour": red}) == ()
    assert hidden_by_prompt({}, {"hair_colour": red, "hat": NONE_HAT}) == ()
    assert hidden_by_prompt({}, {"hair_colour": red, "hat": cap}) == ("hair_colour",)
    assert hidden_by_prompt({"hairstyle": buzz}, {"hair_colour": red}) == ("hair_colour",)
    assert hidden_by_prompt({"hat": cap}, {"hat": cap}) == ()
    prompts = [ScoredPrompt("red hair, a cap", {"hair_colour": red, "hat": cap}, (),
                            ("hair_colour",)),
               ScoredPrompt("red hair", {"hair_colour": red}, ())]
    predicted = {"hair_colour": torch.tensor([0, red]), "hat": torch.tensor([cap, NONE_HAT]),
                 "clothing_colour": torch.zeros(2, dtype=torch.long),
                 "glasses": torch.zeros(2, dtype=torch.long)}
    scores = prompt_agreement(predicted, prompts)
    assert scores["hair_colour"] == 1.0 and scores["hat"] == 1.0  # the capped one is not counted
    for prompt in scored_prompts([sample_attributes(seed) for seed in range(24)], 48, seed=0):
        if "hair_colour" in prompt.named and prompt.named.get("hat", NONE_HAT) != NONE_HAT:
            assert prompt.unscored == ("hair_colour",)


def test_prompts_name_scored_attributes_and_are_scored_on_what_they_name() -> None:
    attributes = [sample_attributes(seed) for seed in range(12)]
    prompts = scored_prompts(attributes, 48, seed=0)
    assert len(prompts) == 48 and all(p.named for p in prompts)
    assert len({p.text for p in prompts}) > 30
    for prompt, avatar in zip(prompts, attributes * 4):
        for name, code in prompt.named.items():
            member = list(type(getattr(avatar, name)))[code]
            if name in prompt.presence_only:  # "a hat" / "no glasses": presence is what's true
                assert (member.value == "none") == (getattr(avatar, name).value == "none")
            else:
                assert member is getattr(avatar, name), prompt
    # One prompt naming a cap (kind) and no glasses (presence): a beanie and round glasses miss
    # both; a cap and no glasses hit both.
    from rodin_pipelines.evaluation.generation_fidelity import ScoredPrompt
    cap = list(Hat).index(Hat.CAP)
    prompt = ScoredPrompt("a person with no glasses, wearing a cap",
                          {"hat": cap, "glasses": NONE_GLASSES}, ("glasses",))
    beanie, round_ = list(Hat).index(Hat.BEANIE), list(Glasses).index(Glasses.ROUND)
    scores = prompt_agreement({"hat": torch.tensor([beanie, cap]),
                               "glasses": torch.tensor([round_, NONE_GLASSES])},
                              [prompt, prompt])
    assert scores["hat"] == 0.5 and scores["glasses"] == 0.5
    assert scores["clothing_colour"] != scores["clothing_colour"]  # NaN: never named


def test_own_rank_by_similarity_counts_more_similar_avatars() -> None:
    latents = torch.eye(3)
    samples = torch.tensor([[1.0, 0.1, 0.0], [0.9, 0.5, 0.0], [0.0, 0.0, 2.0]])
    assert own_rank_by_similarity(samples, latents).tolist() == [0, 1, 0]
