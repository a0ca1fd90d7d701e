"""The prior on a toy embedding set: shapes, statistics, text conditioning, guidance."""

from __future__ import annotations

import pytorch_lightning as pl
import pytest
import torch
from torch.utils.data import DataLoader

from rodin_pipelines.diffusion.denoiser import Condition
from rodin_pipelines.diffusion.embedding_prior_sampling import (
    embedding_statistics,
    sample_embeddings,
    standardise,
)
from rodin_pipelines.evaluation.frechet import frechet_distance
from rodin_pipelines.training.diffusion_module import DEFAULT_OPTIMISER, DiffusionSystem
from rodin_pipelines.training.prior_data import EmbeddingTextPairs

DIM, CLASSES, PER_CLASS = 16, 4, 64


def toy_embeddings(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Unit "image" embeddings in 4 clusters, unit "text" embeddings per cluster, labels."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.nn.functional.normalize(torch.randn(CLASSES, DIM, generator=generator), dim=-1)
    labels = torch.arange(CLASSES).repeat_interleave(PER_CLASS)
    images = centres[labels] + 0.15 * torch.randn(len(labels), DIM, generator=generator)
    texts = torch.nn.functional.normalize(
        centres + 0.3 * torch.randn(CLASSES, DIM, generator=generator), dim=-1)
    return torch.nn.functional.normalize(images, dim=-1), texts, labels


def prior_network(depth: int = 3) -> dict:
    return {"_target_": "rodin_pipelines.models.embedding_prior.EmbeddingPrior",
            "embedding_dim": DIM, "text_dim": DIM, "width": 128, "depth": depth}


@pytest.fixture(scope="module")
def trained_prior():
    images, texts, labels = toy_embeddings()
    statistics = embedding_statistics(images)
    pairs = EmbeddingTextPairs(standardise(images, statistics), [texts[k:k + 1] for k in labels])
    torch.manual_seed(0)
    system = DiffusionSystem(prior_network(), {"steps": 1000}, parameterisation="x0",
                             condition_dropout=0.2, optimiser={**DEFAULT_OPTIMISER, "lr": 2e-3},
                             ema_decay=0.99)
    trainer = pl.Trainer(max_steps=1500, accelerator="cpu", logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    losses = []

    class Record(pl.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, index):
            losses.append(float(outputs["loss"]))

    trainer.callbacks.append(Record())
    trainer.fit(system, DataLoader(pairs, batch_size=64, shuffle=True))
    return system, statistics, images, texts, labels, losses


def test_prior_training_loss_falls(trained_prior) -> None:
    losses = trained_prior[-1]
    # x0-prediction has an irreducible floor at high noise (measured: 0.76 -> 0.40).
    assert sum(losses[-100:]) / 100 < 0.65 * sum(losses[:20]) / 20


def test_unconditional_samples_match_the_data_far_better_than_a_wrong_gaussian(trained_prior):
    system, statistics, images, _, _, _ = trained_prior
    samples = sample_embeddings(system.ema_denoiser(), statistics, 512, steps=50, seed=1)
    assert samples.shape == (512, DIM)
    assert torch.allclose(samples.norm(dim=-1), torch.ones(512), atol=1e-5)
    real = frechet_distance(samples, images)
    # A Gaussian fitted on the wrong data: the same clusters, rotated elsewhere on the sphere.
    wrong_images, _, _ = toy_embeddings(seed=7)
    mean, cov = wrong_images.mean(0), torch.cov(wrong_images.T)
    wrong = torch.distributions.MultivariateNormal(mean, cov + 1e-5 * torch.eye(DIM)).sample((512,))
    assert real < 0.2 * frechet_distance(wrong, images), (real, frechet_distance(wrong, images))
    assert torch.allclose(samples.mean(0), images.mean(0), atol=0.1)


def test_prompted_samples_are_closest_to_their_own_cluster(trained_prior) -> None:
    system, statistics, images, texts, labels, _ = trained_prior
    centres = torch.stack([images[labels == k].mean(0) for k in range(CLASSES)])
    for k in range(CLASSES):
        samples = sample_embeddings(system.ema_denoiser(), statistics, 64, texts=texts[k:k + 1],
                                    steps=25, guidance_scale=2.0, seed=k)
        nearest = (samples @ centres.T).argmax(-1)
        assert float((nearest == k).float().mean()) > 0.9, (k, nearest.bincount())


def test_guidance_scale_one_is_the_conditional_prediction(trained_prior) -> None:
    system, _, _, texts, _, _ = trained_prior
    denoiser = system.ema_denoiser()
    x, t = torch.randn(4, DIM), torch.tensor([5, 200, 600, 999])
    latent = texts[:2].repeat(2, 1)
    guided = denoiser.predict(x, t, Condition(latent=latent), guidance_scale=1.0)
    conditional = denoiser.network_output(x, t, Condition(latent=latent),
                                          torch.ones(4, dtype=torch.bool))
    assert torch.allclose(guided.x0, conditional, atol=1e-6)
    unconditional = denoiser.network_output(x, t, Condition())
    guided_zero = denoiser.predict(x, t, Condition(latent=latent), guidance_scale=0.0)
    assert torch.allclose(guided_zero.x0, unconditional, atol=1e-6)
    assert not torch.allclose(conditional, unconditional, atol=1e-3)
