"""Does the trained embedding prior read its input at low noise? (issue 16, the edit)

    python benchmarks/generation/prior_renoise.py NAME [--env base] [--out FILE]

Run from the project root after `kedro run --pipeline encoder`. Two measurements on the held-out
avatars' frontal CLIP image embeddings, in the prior's standardised space:

- **denoising**: at timesteps t, the mean squared error of the prior's clean estimate (given the
  avatar's own caption, guidance 1) beside that of the trivial estimate x_t / alpha_t. A prior
  that reads x_t beats the trivial estimate at every t; one that ignores it (predicting a typical
  embedding for the text) loses at low t, where x_t already holds the answer.
- **re-noise** (the edit direction `renoise`): each embedding noised to a level and denoised
  given "a person with red hair" at the configured prior guidance: mean cosine to its own
  embedding, own-avatar top-1 among the held-out embeddings, and the outputs' mean pairwise
  cosine beside the real embeddings' (a collapse to one mode shows as a pairwise cosine near 1).

- **prompt diversity**: 16 samples of the prior (the configured sampling) for each of a few
  prompts: their mean pairwise cosine (a prior that ignores x_t returns one embedding per
  prompt, cosine ~1), beside the real held-out embeddings' (all different avatars).

`--prior FILE` scores another prior file (safetensors, as `data/06_models/prior/
prior.safetensors`) with the configured architecture and parameterisation `--parameterisation`.
Results merge into benchmarks/results/prior_renoise.json under NAME (e.g. the parameterisation).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from project_catalog import benchmark_parser, catalog_entries

from rodin_pipelines.avatars.splits import split_ids
from rodin_pipelines.diffusion.denoiser import Condition
from rodin_pipelines.diffusion.embedding_prior_sampling import (renoise_embeddings,
                                                               sample_embeddings, standardise)
from rodin_pipelines.diffusion.networks import load_prior
from rodin_pipelines.models.clip_embeddings import embed_texts
from rodin_pipelines.models.clip_loader import load_trained_clip

TIMESTEPS = (10, 50, 150, 300, 600)
LEVELS = (0.05, 0.1, 0.2, 0.3, 0.5)
EDIT_TEXT = "a person with red hair"
PROMPTS = ("a person with red hair", "a person wearing a green top", "a person with glasses",
           "a person wearing a top hat", "a person with blonde hair wearing a blue top")
PROMPT_SAMPLES = 16
SEED = 0


def mean_pairwise_cosine(unit: torch.Tensor) -> float:
    """Mean cosine over distinct pairs of unit rows ``(N, D)``."""
    gram = unit @ unit.T
    count = unit.shape[0]
    return float((gram.sum() - gram.diagonal().sum()) / (count * (count - 1)))


@torch.no_grad()
def denoising_errors(prior, statistics, embeddings: torch.Tensor, captions: torch.Tensor
                     ) -> dict[str, dict[str, float]]:
    clean = standardise(embeddings, statistics)
    generator = torch.Generator().manual_seed(SEED)
    results = {}
    for step in TIMESTEPS:
        t = torch.full((clean.shape[0],), step)
        noise = torch.randn(clean.shape, generator=generator)
        noisy = prior.schedule.add_noise(clean, t, noise)
        alpha, _ = prior.schedule.alpha_sigma(t, clean)
        estimate = prior.predict(noisy, t, Condition(latent=captions), 1.0).x0
        results[str(step)] = {
            "alpha_bar": float(alpha[0, 0] ** 2),
            "prior_mse": float(((estimate - clean) ** 2).mean()),
            "trivial_mse": float(((noisy / alpha - clean) ** 2).mean()),
        }
    return results


def renoise_scores(prior, statistics, embeddings: torch.Tensor, edit_text: torch.Tensor,
                   sampling: dict) -> dict[str, dict[str, float]]:
    results = {}
    own = torch.arange(embeddings.shape[0])
    for level in LEVELS:
        edited = renoise_embeddings(prior, statistics, embeddings, edit_text, level,
                                    sampling["steps"], sampling["guidance_scale"], seed=SEED)
        similarity = edited @ embeddings.T
        results[str(level)] = {
            "cosine_to_own": float(similarity.diagonal().mean()),
            "own_top1": float((similarity.argmax(1) == own).float().mean()),
            "pairwise_cosine": mean_pairwise_cosine(edited),
        }
    return results


def prompt_diversity(prior, statistics, clip, sampling: dict) -> dict[str, float]:
    texts = embed_texts(clip, list(PROMPTS))
    results = {}
    for index, prompt in enumerate(PROMPTS):
        samples = sample_embeddings(prior, statistics, PROMPT_SAMPLES, texts[index:index + 1],
                                    sampling["sampler"], sampling["steps"],
                                    sampling["guidance_scale"], seed=SEED + index)
        results[prompt] = mean_pairwise_cosine(samples)
    return results


def main() -> None:
    parser = benchmark_parser(__doc__, Path("benchmarks/results/prior_renoise.json"))
    parser.add_argument("name")
    parser.add_argument("--prior", type=Path, default=None)
    parser.add_argument("--parameterisation", default=None)
    args = parser.parse_args()
    loaded, params = catalog_entries(args.env, ["embedding_prior", "avatar_embeddings",
                                                "caption_embeddings", "avatar_index",
                                                "clip_weights"])
    torch.manual_seed(SEED)
    settings = copy.deepcopy(params["encoder"]["prior"])
    if args.parameterisation is not None:
        settings["diffusion"]["parameterisation"] = args.parameterisation
    prior_file = (load_file(args.prior) if args.prior is not None
                  else loaded["embedding_prior"])
    prior, statistics = load_prior(prior_file, settings)
    clip = load_trained_clip(loaded["clip_weights"], params["encoder"]["clip"]["architecture"])
    ids = split_ids(loaded["avatar_index"], "heldout", loaded["avatar_embeddings"])
    embeddings = torch.stack([loaded["avatar_embeddings"][i][0] for i in ids]).float()
    captions = torch.stack([loaded["caption_embeddings"][i][0] for i in ids]).float()
    sampling = params["encoder"]["prior"]["sampling"]
    report = {
        "parameterisation": settings["diffusion"]["parameterisation"],
        "heldout_avatars": len(ids),
        "real_pairwise_cosine": mean_pairwise_cosine(embeddings),
        "denoising": denoising_errors(prior, statistics, embeddings, captions),
        "renoise": renoise_scores(prior, statistics, embeddings,
                                  embed_texts(clip, [EDIT_TEXT]), sampling),
        "prompt_pairwise_cosine": prompt_diversity(prior, statistics, clip, sampling),
    }
    print(json.dumps(report, indent=1), flush=True)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results[args.name] = report
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
