"""RODIN 3D avatar diffusion as Kedro pipelines.

The shape vocabulary shared by docstrings and einops patterns: ``B`` batch (avatars, or cameras
when rendering one avatar), ``V`` views of one avatar, ``C`` feature channels, ``R`` tri-plane
resolution (texels per side), ``H``, ``W`` image height and width, ``N`` rays, ``S`` samples per
ray, ``P`` points in 3D, ``G`` voxel-grid resolution. A point cloud is ``(P, 3)``, rays are
origins and directions ``(N, 3)``, samples along rays ``(N, S)``, and an image ``(H, W, 4)``
straight (not premultiplied) RGBA in [0, 1] unless stated otherwise.
"""

__version__ = "0.1.0"
