"""Diffusion maths shared by the prior and the tri-plane models: schedule, parameterisation,
denoiser, losses, samplers, guidance and the base → upsampler cascade. Pure PyTorch, any shape:
every function works on ``(B, ...)`` tensors, so the same code diffuses CLIP embeddings ``(B, D)``
and rolled-out tri-planes ``(B, C, R, 3R)``."""
