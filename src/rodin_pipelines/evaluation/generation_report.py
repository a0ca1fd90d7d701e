"""``metrics/generation.json`` and the files behind it: every condition of the generation
benchmark (:mod:`.generation_benchmark`), scored by the independent judge, with the renders and
feature matrices written out so anyone can recheck the figures without the project's code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import trimesh
from torch import Tensor

from rodin_pipelines.avatars.attributes import AvatarAttributes, HairColour
from rodin_pipelines.avatars.folder import AvatarFolderReader
from rodin_pipelines.diffusion.cascade import SamplingSettings
from rodin_pipelines.evaluation.attribute_network import image_features
from rodin_pipelines.evaluation.attribute_views import attribute_classes, rgb_views
from rodin_pipelines.evaluation.floaters import (largest_component_share, opacity_outside,
                                                 silhouette_union)
from rodin_pipelines.evaluation.frechet import frechet_distance
from rodin_pipelines.evaluation.generation_benchmark import (EditSettings, GenerationModels,
                                                             Judged, PriorSampling,
                                                             clip_embeddings_of, edit_samples,
                                                             judge_renders, latent_samples,
                                                             portrait_samples, text_samples)
from rodin_pipelines.evaluation.generation_fidelity import (SCORED_ATTRIBUTES,
                                                            attribute_agreement, codes_of,
                                                            own_rank_by_similarity,
                                                            prompt_agreement, scored_prompts,
                                                            shown_of)
from rodin_pipelines.evaluation.generative_metrics import extract_features
from rodin_pipelines.evaluation.image_features import ClipImageFeatures
from rodin_pipelines.generation.latents import frontal_embeddings
from rodin_pipelines.generation.plane_refinement import RefinementSettings
from rodin_pipelines.rendering.camera_rig import CameraRig
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings


@dataclass(frozen=True)
class HeldoutAvatar:
    """A held-out avatar: its true attributes, frontal view ``(H, W, 4)`` and latent e ``(D,)``."""

    avatar_id: str
    attributes: AvatarAttributes
    frontal: Tensor
    latent: Tensor


@dataclass(frozen=True)
class BenchmarkSettings:
    """``evaluate.generation`` in the config."""

    seed: int = 11
    text_prompts: int = 48
    prompt_seed: int = 5
    silhouette_dilation_pixels: int = 2
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    prior_sampling: PriorSampling = field(default_factory=PriorSampling)
    portrait_refine: RefinementSettings = field(default_factory=RefinementSettings)
    edit: EditSettings = field(default_factory=EditSettings)
    render: VolumeRenderSettings = field(default_factory=VolumeRenderSettings)

    @classmethod
    def from_config(cls, diffusion: dict[str, Any], encoder: dict[str, Any],
                    evaluate: dict[str, Any]) -> BenchmarkSettings:
        """From the ``diffusion``, ``encoder`` and ``evaluate`` parameter blocks."""
        block = evaluate["generation"]
        edit = block["edit"]
        return cls(
            seed=block["seed"], text_prompts=block["text_prompts"],
            prompt_seed=block["prompt_seed"],
            silhouette_dilation_pixels=block["silhouette_dilation_pixels"],
            sampling=SamplingSettings(**{**diffusion["sampling"], **block["sampling"]}),
            prior_sampling=PriorSampling(**encoder["prior"]["sampling"]),
            portrait_refine=RefinementSettings(**block["portrait_refine"]),
            edit=EditSettings(**{k: v for k, v in edit.items() if k != "refine"},
                              refine=RefinementSettings(**edit["refine"])),
            render=VolumeRenderSettings(**evaluate["render"]))


@dataclass
class GenerationReport:
    """Metrics, and files by path relative to the report folder: RGBA pictures ``(H, W, 4)``
    uint8, JSON documents, and ``.npy`` feature matrices ``(N, F)``."""

    metrics: dict[str, float]
    pictures: dict[str, np.ndarray] = field(default_factory=dict)
    documents: dict[str, object] = field(default_factory=dict)
    features: dict[str, np.ndarray] = field(default_factory=dict)


def heldout_avatars(readers: dict[str, AvatarFolderReader], avatar_ids: list[str],
                    avatar_embeddings: dict[str, Tensor]) -> list[HeldoutAvatar]:
    """The benchmark's avatars: true attributes, frontal view and frontal e of each."""
    heldout = []
    for avatar_id in avatar_ids:
        views = readers[avatar_id]()
        heldout.append(HeldoutAvatar(avatar_id, AvatarAttributes.from_dict(views.attributes),
                                     views.images[views.frontal_index()],
                                     avatar_embeddings[avatar_id][0].float()))
    return heldout


def frontal_camera_of(reader: AvatarFolderReader) -> Cameras:
    """The one frontal camera of an avatar folder (every avatar's is the same)."""
    views = reader()
    return views.cameras()[torch.tensor([views.frontal_index()])]


def rgba8(image: Tensor) -> np.ndarray:
    """Straight RGBA ``(H, W, 4)`` in [0, 1] → uint8 (what the PNG files hold)."""
    return (image.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def truths_of(avatars: list[HeldoutAvatar]) -> dict[str, Tensor]:
    return {name: codes_of([a.attributes for a in avatars], name) for name in SCORED_ATTRIBUTES}


def agreement_with(avatars: list[HeldoutAvatar], predicted: dict[str, Tensor]
                   ) -> dict[str, float]:
    """The judge's agreement with the avatars' true attributes, where their renders show them."""
    return attribute_agreement(predicted, truths_of(avatars),
                               shown_of([a.attributes for a in avatars]))


def _prefixed(prefix: str, scores: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}_{name}": value for name, value in scores.items()}


def conditional_section(models: GenerationModels, avatars: list[HeldoutAvatar], camera: Cameras,
                        settings: BenchmarkSettings, report: GenerationReport) -> Judged:
    latents = torch.stack([a.latent for a in avatars])
    samples = latent_samples(models, latents, camera, settings.render, settings.sampling,
                             settings.seed)
    report.metrics.update(_prefixed("conditional", agreement_with(avatars, samples.predicted)))
    ranks = own_rank_by_similarity(clip_embeddings_of(models, samples.frontal), latents)
    report.metrics["conditional_clip_rank_top1"] = float((ranks == 0).float().mean())
    report.metrics["conditional_clip_rank_mean"] = float(ranks.float().mean())
    for avatar, frontal in zip(avatars, samples.frontal):
        report.pictures[f"conditional/{avatar.avatar_id}.png"] = rgba8(frontal)
        report.pictures[f"conditional/{avatar.avatar_id}.truth.png"] = rgba8(avatar.frontal)
    return samples


def text_section(models: GenerationModels, avatars: list[HeldoutAvatar], camera: Cameras,
                 settings: BenchmarkSettings, report: GenerationReport) -> Judged:
    prompts = scored_prompts([a.attributes for a in avatars], settings.text_prompts,
                             settings.prompt_seed)
    samples = text_samples(models, [p.text for p in prompts], camera, settings.render,
                           settings.sampling, settings.prior_sampling, settings.seed)
    report.metrics.update(_prefixed("text", prompt_agreement(samples.predicted, prompts)))
    report.metrics["text_prompts"] = float(len(prompts))
    classes = attribute_classes()
    listing = {}
    for index, (prompt, frontal) in enumerate(zip(prompts, samples.frontal)):
        name = f"{index:02d}.png"
        report.pictures[f"text/{name}"] = rgba8(frontal)
        listing[name] = {
            "prompt": prompt.text,
            "names": {a: classes[a][code] for a, code in prompt.named.items()},
            "named_by_presence_only": list(prompt.presence_only),
            "named_but_not_scored": list(prompt.unscored),
            "judged": {a: classes[a][int(samples.predicted[a][index])]
                       for a in SCORED_ATTRIBUTES},
        }
    report.documents["text/prompts.json"] = listing
    return samples


def portrait_section(models: GenerationModels, avatars: list[HeldoutAvatar],
                     astronaut: Tensor, camera: Cameras, settings: BenchmarkSettings,
                     report: GenerationReport) -> None:
    portraits = torch.stack([a.frontal for a in avatars])
    samples = portrait_samples(models, portraits, camera, settings.render, settings.sampling,
                               settings.portrait_refine, settings.seed)
    scores = agreement_with(avatars, samples.predicted)
    report.metrics.update(_prefixed("portrait", scores))
    report.metrics["portrait_mean_agreement"] = float(np.nanmean(list(scores.values())))
    for avatar, frontal in zip(avatars, samples.frontal):
        report.pictures[f"portrait/{avatar.avatar_id}.png"] = rgba8(frontal)
    space = portrait_samples(models, astronaut[None], camera, settings.render, settings.sampling,
                             settings.portrait_refine, settings.seed)
    classes = attribute_classes()
    report.pictures["portrait/astronaut.png"] = rgba8(space.frontal[0])
    report.pictures["portrait/astronaut.input.png"] = rgba8(astronaut)
    report.documents["portrait/astronaut.json"] = {
        a: classes[a][int(space.predicted[a][0])] for a in SCORED_ATTRIBUTES}


def edit_section(models: GenerationModels, avatars: list[HeldoutAvatar], camera: Cameras,
                 rig: CameraRig, settings: BenchmarkSettings, report: GenerationReport) -> None:
    """"with red hair" on held-out avatars that are not red-haired, those whose hair shows first
    (a hat or a shaved head hides the colour from the judge: their red is not counted). The
    ``neighbours`` direction retrieves from the training avatars only (none of ``avatars``)."""
    red = list(HairColour).index(HairColour.RED)
    chosen = [a for a in avatars if a.attributes.hair_colour is not HairColour.RED]
    chosen = sorted(chosen, key=lambda a: not bool(shown_of([a.attributes])["hair_colour"]))
    chosen = chosen[: settings.edit.avatars]
    judged = shown_of([a.attributes for a in chosen])["hair_colour"]
    latents = torch.stack([a.latent for a in chosen])
    bank = frontal_embeddings(models.avatar_embeddings, excluding={a.avatar_id for a in avatars})
    before, after = edit_samples(models, latents, camera, rig, settings.render,
                                 settings.sampling, settings.edit, settings.prior_sampling,
                                 settings.seed, bank)
    red_after = int((after.predicted["hair_colour"] == red)[judged].sum())
    kept = int((after.predicted["clothing_colour"] == before.predicted["clothing_colour"]).sum())
    report.metrics.update(edit_avatars=float(len(chosen)), edit_hair_judged=float(judged.sum()),
                          edit_red_hair=float(red_after),
                          edit_red_hair_before=float(
                              (before.predicted["hair_colour"] == red)[judged].sum()),
                          edit_clothing_kept=float(kept))
    for avatar, a, b in zip(chosen, before.frontal, after.frontal):
        report.pictures[f"edit/{avatar.avatar_id}.before.png"] = rgba8(a)
        report.pictures[f"edit/{avatar.avatar_id}.after.png"] = rgba8(b)


def distribution_section(models: GenerationModels, renders: dict[str, Tensor],
                         report: GenerationReport) -> None:
    """FID on the judge's penultimate features and on the CLIP's, of each render set against
    ``renders["real"]`` (all straight RGBA ``(M, H, W, 4)``); the features are kept."""
    clip = ClipImageFeatures(models.clip)
    for name, images in renders.items():
        rgb = rgb_views(images)
        report.features[f"features/{name}.attribute.npy"] = image_features(
            models.judge, rgb).double().numpy()
        report.features[f"features/{name}.clip.npy"] = extract_features(
            rgb, clip).double().numpy()
    for name in renders:
        if name == "real":
            continue
        for scorer in ("attribute", "clip"):
            real = torch.from_numpy(report.features[f"features/real.{scorer}.npy"])
            fake = torch.from_numpy(report.features[f"features/{name}.{scorer}.npy"])
            report.metrics[f"fid_{scorer}_{name}"] = frechet_distance(real, fake)
    for scorer in ("attribute", "clip"):
        gaussian = report.metrics[f"fid_{scorer}_gaussian"]
        # fitted_train: the ratio a perfect generator of new avatars reaches on this real set.
        for name in ("ours", *(["fitted_train"] if "fitted_train" in renders else [])):
            report.metrics[f"fid_{scorer}_{name}_over_gaussian"] = (
                report.metrics[f"fid_{scorer}_{name}"] / gaussian)


def floater_section(frontal_samples: Tensor, training_frontals: Tensor,
                    meshes: list[trimesh.Trimesh], dilation: int,
                    report: GenerationReport) -> None:
    allowed = silhouette_union(training_frontals, dilation)
    report.metrics["floaters_opacity_outside_training_silhouettes"] = opacity_outside(
        frontal_samples, allowed)
    shares = [largest_component_share(mesh) for mesh in meshes]
    if shares:
        report.metrics["mesh_largest_component_share_min"] = min(shares)
        report.metrics["mesh_largest_component_share_mean"] = float(np.mean(shares))


def judge_accuracy(models: GenerationModels, avatars: list[HeldoutAvatar],
                   report: GenerationReport) -> None:
    """The judge on the held-out avatars' real frontal renders: its scores mean something only
    where these are high."""
    predicted = judge_renders(models.judge, torch.stack([a.frontal for a in avatars]))
    report.metrics.update(_prefixed("judge_heldout_frontal", agreement_with(avatars, predicted)))


def generation_report(models: GenerationModels, avatars: list[HeldoutAvatar], astronaut: Tensor,
                      camera: Cameras, rig: CameraRig, training_frontals: Tensor,
                      distribution_renders: dict[str, Tensor], meshes: list[trimesh.Trimesh],
                      settings: BenchmarkSettings) -> GenerationReport:
    """Every section of the benchmark for the held-out ``avatars``.

    Args:
        astronaut: the framed photograph ``(H, W, 4)`` (portrait mode's out-of-domain example).
        camera: the avatars' frontal camera (one view, the render size).
        training_frontals: the training avatars' frontal views ``(N, H, W, 4)``: their dilated
            silhouettes are where density may be.
        distribution_renders: ``real`` held-out views and, from the same cameras, ``ours``
            (unconditional samples), ``gaussian``, ``fitted_heldout`` and ``fitted_train``
            ``(M, H, W, 4)``.
        meshes: the showcase samples' meshes.
    """
    report = GenerationReport(metrics={"heldout_avatars": float(len(avatars))})
    judge_accuracy(models, avatars, report)
    conditional = conditional_section(models, avatars, camera, settings, report)
    text = text_section(models, avatars, camera, settings, report)
    portrait_section(models, avatars, astronaut, camera, settings, report)
    edit_section(models, avatars, camera, rig, settings, report)
    distribution_section(models, distribution_renders, report)
    floater_section(torch.cat([conditional.frontal, text.frontal]), training_frontals, meshes,
                    settings.silhouette_dilation_pixels, report)
    return report
