"""The independent attribute network: labels, masking, augmentation, training, files, config."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as save_safetensors_bytes

from rodin_pipelines.avatars.attributes import Glasses, Hairstyle, Hat, sample_attributes
from rodin_pipelines.avatars.folder import FRONTAL_SPLIT, TRAIN_SPLIT, AvatarViews
from rodin_pipelines.settings import load_parameters
from rodin_pipelines.evaluation.attribute_augmentation import (
    AttributeAugmentation,
    augmented,
    gaussian_blurred,
    jittered_colours,
    shifted,
)
from rodin_pipelines.evaluation.attribute_network import (
    AttributeNetwork,
    AttributeNetworkConfig,
    AttributeNetworkSettings,
    attribute_accuracy,
    class_weights,
    image_features,
    predict_attributes,
    predict_avatar_attributes,
    train_attribute_network,
    view_sampling_weights,
)
from rodin_pipelines.evaluation.attribute_judge import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    AttributeJudge,
    judge_members,
    load_attribute_judge,
    save_attribute_judge,
    train_attribute_judge,
)
from rodin_pipelines.evaluation.attribute_views import (
    ATTRIBUTES,
    BACKGROUND,
    HAIR_COLOUR_HIDDEN_STYLES,
    MASKED,
    attribute_classes,
    hidden_attributes,
    joined_views,
    labelled_views,
    view_labels,
)
from rodin_pipelines.rendering.cameras import orbit_camera_to_world
from rodin_pipelines.rendering.transforms_json import Frame, Transforms

CONF = Path(__file__).resolve().parents[2] / "conf"
SMALL = AttributeNetworkSettings(channels=(8, 16), feature_dim=16, steps=5, batch_size=8,
                                 augmentation=None, progress=False)


def test_classes_come_from_the_attribute_enums():
    classes = attribute_classes()
    assert tuple(classes) == ATTRIBUTES
    assert classes["hat"] == ("none", "cap", "beanie", "top_hat")
    assert classes["glasses"] == ("none", "round", "square")
    assert [len(classes[a]) for a in ATTRIBUTES] == [8, 8, 11, 4, 3, 3]


def test_labels_are_enum_positions_and_face_attributes_masked_off_face():
    attributes = next(a for a in (sample_attributes(s) for s in range(200))
                      if a.glasses is Glasses.SQUARE and a.hat is Hat.NONE
                      and a.hairstyle not in HAIR_COLOUR_HIDDEN_STYLES)
    labels = view_labels(attributes.to_dict(), torch.tensor([True, False]))
    classes = attribute_classes()
    front = {name: classes[name][code] for name, code in zip(ATTRIBUTES, labels[0].tolist())}
    assert front == {name: getattr(attributes, name).value for name in ATTRIBUTES}
    back = dict(zip(ATTRIBUTES, labels[1].tolist()))
    assert back["glasses"] == back["facial_hair"] == MASKED
    assert back["hat"] == 0 and back["hair_colour"] == labels[0, 0]
    assert back["hairstyle"] == labels[0, 1]  # no hat: the style is labelled on every view
    hatted = next(a for a in (sample_attributes(s) for s in range(200)) if a.hat is Hat.CAP)
    hidden = dict(zip(ATTRIBUTES, view_labels(hatted.to_dict(), torch.tensor([True]))[0].tolist()))
    assert hidden["hairstyle"] == MASKED and hidden["hat"] == 1  # a cap hides the hairstyle
    assert hidden["hair_colour"] == MASKED  # ... and the hair's colour
    for style in HAIR_COLOUR_HIDDEN_STYLES:  # no hair to see, or a shell a pixel thick
        shaved = replace(attributes, hairstyle=style)
        row = dict(zip(ATTRIBUTES, view_labels(shaved.to_dict(), torch.tensor([True]))[0].tolist()))
        assert row["hair_colour"] == MASKED and row["hairstyle"] == list(Hairstyle).index(style)
        assert hidden_attributes(shaved) == ("hair_colour",)
    assert hidden_attributes(attributes) == ()
    assert hidden_attributes(hatted) == ("hairstyle", "hair_colour")
    assert (view_labels({}, torch.tensor([True])) == MASKED).all()  # imported: nothing known


def test_labelled_views_composite_on_the_background_and_filter_frames():
    azimuths = torch.tensor([0.0, 0.0, math.pi])  # frontal, a front view, a back view
    frames = tuple(Frame(f"images/{i:03d}", matrix, split) for i, (matrix, split) in enumerate(
        zip(orbit_camera_to_world(azimuths, torch.zeros(3), 2.8),
            [FRONTAL_SPLIT, TRAIN_SPLIT, TRAIN_SPLIT])))
    images = torch.zeros(3, 8, 8, 4)
    images[:, :4, :, :] = torch.tensor([1.0, 0.0, 0.0, 1.0])  # opaque red top, transparent below
    avatar = AvatarViews("a", images, Transforms(0.7, frames, 8, 8),
                         sample_attributes(3).to_dict())
    rgb, labels, owner = labelled_views({"a": lambda: avatar}, ["a"])
    assert rgb.shape == (3, 3, 8, 8) and labels.shape == (3, len(ATTRIBUTES))
    assert owner.tolist() == [0, 0, 0]
    _, _, owners = labelled_views({"a": lambda: avatar, "b": lambda: avatar}, ["b", "a"])
    assert owners.tolist() == [0, 0, 0, 1, 1, 1]  # positions in the ids given
    one = labelled_views({"a": lambda: avatar}, ["a"])
    joined = joined_views([owned := labelled_views({"a": lambda: avatar, "b": lambda: avatar},
                                                   ["a", "b"]), one])
    assert joined.avatar.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # the second set after the first
    assert torch.equal(joined.images, torch.cat([owned.images, one.images]))
    assert torch.equal(joined.labels, torch.cat([owned.labels, one.labels]))
    assert torch.equal(rgb[0, :, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.equal(rgb[0, :, 7, 0], torch.tensor(BACKGROUND))
    glasses = ATTRIBUTES.index("glasses")
    assert labels[:2, glasses].ge(0).all() and labels[2, glasses] == MASKED
    frontal, _, _ = labelled_views({"a": lambda: avatar}, ["a"], frame_splits=(FRONTAL_SPLIT,))
    assert len(frontal) == 1


def test_accuracy_ignores_masked_labels_exactly():
    predictions = {"hat": torch.tensor([0, 1, 2, 3]), "glasses": torch.tensor([0, 0, 1, 2])}
    labels = torch.tensor([[0, 0], [2, MASKED], [MASKED, 1], [3, 0]])
    # hat: rows 0, 1, 3 count, 0 and 3 right → 2/3; glasses: rows 0, 2, 3, 0 and 2 right → 2/3
    assert attribute_accuracy(predictions, labels) == pytest.approx({"hat": 2 / 3,
                                                                     "glasses": 2 / 3})
    everything_masked = torch.full((4, 2), MASKED)
    assert attribute_accuracy(predictions, everything_masked) == {}


def test_logits_and_features_have_the_documented_shapes():
    network = AttributeNetwork(AttributeNetworkConfig(attribute_classes(), 32, (8, 16, 32), 24))
    images = torch.rand(5, 3, 32, 32)
    logits = network.eval()(images)
    assert {name: tuple(scores.shape) for name, scores in logits.items()} == {
        name: (5, len(values)) for name, values in attribute_classes().items()}
    features = image_features(network, images, batch_size=2)
    assert features.shape == (5, 24) and features.min() >= 0  # after a ReLU
    assert torch.allclose(features, network.features(images), atol=1e-6)


def test_avatar_predictions_average_log_probabilities_over_views():
    classes = {"hairstyle": ("short", "bun"), "glasses": ("none", "round")}
    network = AttributeNetwork(AttributeNetworkConfig(classes, 8, (4,), 2)).eval()
    # Logits read off the image: view 0 says short weakly, view 1 says bun strongly; glasses
    # the opposite way round, but view 1 is a back view where glasses do not count.
    logits = {"hairstyle": torch.tensor([[1.0, 0.0], [0.0, 5.0]]),
              "glasses": torch.tensor([[1.0, 0.0], [0.0, 5.0]])}
    network.forward = lambda images: logits  # type: ignore[method-assign]
    images = torch.zeros(2, 3, 8, 8)
    averaged = predict_avatar_attributes(network, images, views=2,
                                         face_visible=torch.tensor([True, False]))
    assert averaged == {"hairstyle": torch.tensor([1]), "glasses": torch.tensor([0])}
    assert predict_avatar_attributes(network, images, views=2)["glasses"] == torch.tensor([1])


def separable_task(count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """16² images: the top half's colour is class ``a`` (red, green, blue), the bottom half's
    brightness class ``b``; plus noise."""
    a = torch.randint(3, (count,), generator=generator)
    b = torch.randint(2, (count,), generator=generator)
    images = 0.1 * torch.rand(count, 3, 16, 16, generator=generator)
    images[torch.arange(count), a, :8, :] += 0.8
    images[:, :, 8:, :] += 0.7 * b[:, None, None, None]
    return images.clamp(0, 1), torch.stack([a, b], dim=1)


def test_it_learns_a_separable_task_in_a_few_seconds():
    classes = {"a": ("red", "green", "blue"), "b": ("dark", "bright")}
    images, labels = separable_task(256, torch.Generator().manual_seed(1))
    settings = AttributeNetworkSettings(channels=(8, 16), feature_dim=16, steps=60,
                                        batch_size=32, learning_rate=5e-3, progress=False,
                                        augmentation=AttributeAugmentation(shift_pixels=1.0))
    network, log = train_attribute_network(images, labels, settings, seed=0, classes=classes)
    assert len(log) == 60 and log[-1]["loss"] < log[0]["loss"]
    fresh_images, fresh_labels = separable_task(200, torch.Generator().manual_seed(2))
    accuracy = attribute_accuracy(predict_attributes(network, fresh_images), fresh_labels)
    assert accuracy["a"] > 0.95 and accuracy["b"] > 0.95


def test_training_is_a_pure_function_of_the_seed():
    images, labels = torch.rand(16, 3, 16, 16), torch.zeros(16, len(ATTRIBUTES), dtype=torch.long)
    labels[::2, ATTRIBUTES.index("glasses")] = MASKED
    before = torch.random.get_rng_state()
    first, _ = train_attribute_network(images, labels, SMALL, seed=3)
    assert torch.equal(torch.random.get_rng_state(), before)  # global random state untouched
    second, _ = train_attribute_network(images, labels, SMALL, seed=3)
    other, _ = train_attribute_network(images, labels, SMALL, seed=4)
    assert torch.equal(first(images)["hat"], second(images)["hat"])
    assert not torch.equal(first(images)["hat"], other(images)["hat"])


def test_class_weights_are_inverse_frequencies_over_unmasked_labels():
    classes = {"glasses": ("none", "round", "square"), "hat": ("none", "cap")}
    labels = torch.tensor([[0, 0], [0, 0], [0, 0], [1, 1], [MASKED, 0]])
    weights = class_weights(labels, classes)
    # glasses: 4 unmasked labels, 2 classes present: 4 / (2 * 3) and 4 / (2 * 1); "square" absent
    assert torch.allclose(weights["glasses"], torch.tensor([2 / 3, 2.0, 0.0]))
    assert torch.allclose(weights["hat"], torch.tensor([5 / 8, 5 / 2]))


def test_balanced_training_with_dropout_is_still_a_pure_function_of_the_seed():
    images, labels = torch.rand(16, 3, 16, 16), torch.zeros(16, len(ATTRIBUTES), dtype=torch.long)
    labels[::4, ATTRIBUTES.index("hat")] = 1
    settings = dataclasses.replace(SMALL, dropout=0.3, class_balanced=True)
    before = torch.random.get_rng_state()
    first, _ = train_attribute_network(images, labels, settings, seed=3)
    assert torch.equal(torch.random.get_rng_state(), before)
    second, _ = train_attribute_network(images, labels, settings, seed=3)
    assert torch.equal(first(images)["hat"], second(images)["hat"])  # eval mode: no dropout


def test_save_then_load_gives_identical_logits(tmp_path: Path):
    images, labels = torch.rand(16, 3, 16, 16), torch.zeros(16, len(ATTRIBUTES), dtype=torch.long)
    network, _ = train_attribute_network(images, labels, SMALL, seed=0)  # batch norm has stats
    save_attribute_judge(network, tmp_path)  # a lone network: a judge of one member
    loaded = load_attribute_judge(tmp_path)
    assert loaded.members[0].config == network.config
    for name, scores in network(images).items():
        assert torch.equal(loaded(images)[name], scores)
    # A folder written before the judge had members (one network's config and weights).
    old = tmp_path / "old"
    old.mkdir()
    (old / CONFIG_FILE).write_text(json.dumps(dataclasses.asdict(network.config)))
    (old / WEIGHTS_FILE).write_bytes(save_safetensors_bytes(
        {k: v.contiguous() for k, v in network.state_dict().items()}))
    assert torch.equal(load_attribute_judge(old).features(images), network.features(images))


def test_the_judge_trains_a_network_per_member_and_answers_as_one(tmp_path: Path):
    config = {"training": {**dataclasses.asdict(SMALL), "augmentation": None},
              "members": [{"attributes": ["hair_colour", "hairstyle", "clothing_colour", "hat"]},
                          {"attributes": ["glasses", "facial_hair"], "stem_stride": 1,
                           "pooling": "max", "feature_dim": 8}]}
    members = judge_members(config)
    assert [m.attributes for m in members] == [tuple(ATTRIBUTES[:4]), tuple(ATTRIBUTES[4:])]
    assert members[1].settings.stem_stride == 1 and members[0].settings.pooling == "grid"
    images = torch.rand(12, 3, 16, 16)
    labels = torch.randint(0, 3, (12, len(ATTRIBUTES)))
    judge, logs = train_attribute_judge(images, labels, members, seed=0,
                                        avatar=torch.arange(12) // 3)
    assert isinstance(judge, AttributeJudge) and len(logs) == 2 and len(logs[1]) == SMALL.steps
    logits = judge(images)
    assert tuple(logits) == ATTRIBUTES  # every attribute, in label-column order
    assert tuple(judge.classes) == ATTRIBUTES
    assert torch.equal(logits["glasses"], judge.members[1](images)["glasses"])
    assert judge.features(images).shape == (12, SMALL.feature_dim + 8)
    # The glasses member keeps full resolution up to its one stride-2 layer (16 -> 8).
    assert judge.members[1].trunk[0][0].stride == (1, 1)
    assert judge.members[1].trunk[:-4](images).shape[-1] == 8
    save_attribute_judge(judge, tmp_path)
    assert torch.equal(load_attribute_judge(tmp_path).features(images), judge.features(images))
    with pytest.raises(ValueError, match="exactly once"):
        judge_members({**config, "members": [{"attributes": ["glasses"]}]})


def test_augmentation_pieces_against_hand_computed_images():
    images = torch.rand(2, 3, 8, 8)
    moved = shifted(images, torch.tensor([[2.0, 0.0], [0.0, -1.0]]))
    assert torch.allclose(moved[0, :, :, 2:], images[0, :, :, :-2], atol=1e-5)  # right by 2
    assert torch.allclose(moved[0, :, :, :2], images[0, :, :, :1].expand(-1, -1, 2), atol=1e-5)
    assert torch.allclose(moved[1, :, :-1, :], images[1, :, 1:, :], atol=1e-5)  # up by 1
    blurred = gaussian_blurred(images, torch.tensor([0.0, 1.0]))
    assert torch.allclose(blurred[0], images[0], atol=1e-6)  # sigma 0: unchanged
    centre = torch.zeros(1, 3, 9, 9)
    centre[..., 4, 4] = 1.0
    spot = gaussian_blurred(centre, torch.tensor([1.0]))[0, 0]
    g = torch.exp(-torch.arange(-3.0, 4.0) ** 2 / 2)
    assert spot[4, 4] == pytest.approx(float((1 / g.sum()) ** 2), rel=1e-5)
    none = AttributeAugmentation(brightness=0.0, contrast=0.0, saturation=0.0)
    assert torch.allclose(jittered_colours(images, none, torch.Generator()), images, atol=1e-6)
    grey = torch.full((4, 3, 8, 8), 0.5)  # no hue to change: saturation and contrast keep it
    jittered = augmented(grey, AttributeAugmentation(brightness=0.0), torch.Generator())
    assert torch.allclose(jittered, grey, atol=1e-5)


@pytest.mark.parametrize("env", ["base", "test", "paper"])
def test_every_environment_configures_the_network(env):
    block = load_parameters(CONF, env)["evaluate"]["attribute_network"]
    settings = AttributeNetworkSettings.from_config(block["training"])
    assert isinstance(block["seed"], int) and 0 < block["face_visible_degrees"] <= 180
    assert settings.augmentation is not None and settings.steps > 0
    AttributeNetwork(AttributeNetworkConfig(attribute_classes(), 64, settings.channels,
                                            settings.feature_dim))


def test_avatar_balanced_sampling_weighs_every_avatar_alike():
    weights = view_sampling_weights(torch.tensor([0, 0, 0, 0, 1]))
    assert weights.tolist() == [0.25, 0.25, 0.25, 0.25, 1.0]
    # Avatar 0 has 24 views, avatar 1 one, each a uniform colour the labels name: with views
    # drawn by avatar, avatar 1's view turns up in about half of the draws, not 1 in 25.
    images = torch.cat([torch.zeros(24, 3, 8, 8), torch.ones(1, 3, 8, 8)])
    labels = torch.full((25, len(ATTRIBUTES)), MASKED)
    avatar = torch.tensor([0] * 24 + [1])
    seen = []
    original = torch.multinomial

    def recording(weights, count, **kwargs):
        drawn = original(weights, count, **kwargs)
        seen.append(drawn)
        return drawn

    labels[:, 0] = avatar
    settings = dataclasses.replace(SMALL, steps=20, avatar_balanced=True)
    try:
        torch.multinomial = recording
        train_attribute_network(images, labels, settings, seed=0, avatar=avatar)
    finally:
        torch.multinomial = original
    share = float((torch.cat(seen) == 24).float().mean())
    assert len(seen) == 20 and 0.4 < share < 0.6
    with pytest.raises(ValueError, match="avatar of each view"):
        train_attribute_network(images, labels, settings, seed=0)
