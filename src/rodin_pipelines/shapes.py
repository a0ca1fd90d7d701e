"""The shape vocabulary shared by docstrings, annotations and einops patterns.

Every tensor that crosses a module boundary is described with these letters:

- ``B`` batch (avatars, or cameras when rendering one avatar)
- ``V`` views (cameras) of one avatar
- ``C`` feature channels
- ``R`` tri-plane resolution (texels per side)
- ``H``, ``W`` image height and width in pixels
- ``N`` rays
- ``S`` samples per ray
- ``P`` points in 3D
- ``G`` voxel-grid resolution (cells per side)

A point cloud is ``(P, 3)``, rays are origins ``(N, 3)`` and directions ``(N, 3)``, samples along
rays are ``(N, S)`` and an image is ``(H, W, 4)`` RGBA in [0, 1] (straight, not premultiplied,
alpha) unless stated otherwise.
"""

BATCH = "B"
VIEWS = "V"
CHANNELS = "C"
PLANE_RESOLUTION = "R"
RAYS = "N"
SAMPLES = "S"
POINTS = "P"
