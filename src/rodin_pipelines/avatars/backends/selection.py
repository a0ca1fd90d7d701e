"""Which renderer draws the procedural avatars: the class ``render.backend``'s ``_target_`` names.

Each backend's settings sit in ``render.backends.<its name>`` (``torch``, ``blender``), so one key
switches backends, from the command line too (``--params "render.backend._target_=<class>"``,
e.g. ``rodin_pipelines.avatars.backends.blender_renderer.BlenderAvatarRenderer``): a whole block
could not be swapped there, since Kedro merges parameter blocks key by key and would leave one
backend's settings in the other's. Every backend draws the same scene
(``render.scene``), which the fit stage's 3D supervision reads directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rodin_pipelines.avatars.procedural import AvatarRenderer
from rodin_pipelines.instantiation import build_from_config, target_class


def avatar_renderer(render: Mapping[str, Any]) -> AvatarRenderer:
    """The renderer of a ``render`` parameter block: ``backend``'s class with the settings of
    ``backends.<its name>`` (keys in ``backend`` itself win) and the ``scene`` settings."""
    backend = render["backend"]
    name = target_class(backend).name
    settings = dict(render.get("backends", {}).get(name) or {})
    return build_from_config({**settings, **backend}, scene=dict(render.get("scene") or {}))
