"""What the page's controls ask for, as ``generate`` parameter blocks (the configured block with
the controls' values over it), and the page's own settings (``demo`` in
``conf/base/parameters_demo.yml``).

Every refusal is a :class:`DemoInputError` whose message says what to do instead; the page shows
it as is.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rodin_pipelines.folder_names import checked_folder_name

SAMPLING_KEYS = ("sampler", "base_steps", "upsampler_steps", "guidance_scale")
"""The sampling settings a result's ``description.json`` records (and an edit of it reuses)."""

PROMPT_EXAMPLE = "a smiling woman with long red hair in a green shirt"
EDIT_EXAMPLE = "a person with red hair"


class DemoInputError(ValueError):
    """A request the page refuses, with what to do instead."""


@dataclass(frozen=True)
class DemoSettings:
    """The ``demo`` parameter block."""

    name_prefix: str
    cache_folder: str
    max_count: int
    max_steps: int
    max_refine_steps: int
    max_guidance: float
    max_upload_megabytes: float
    heldout_examples: int

    @classmethod
    def from_parameters(cls, demo: dict[str, Any]) -> DemoSettings:
        settings = cls(**demo)
        checked_folder_name(settings.name_prefix, "demo.name_prefix")
        return settings


def with_overrides(generate: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of the ``generate`` block with ``changes``; ``sampling`` and ``edit`` (and its
    ``refine``) are merged key by key, so the configured keys not changed stay."""
    block = copy.deepcopy(generate)
    for key, value in changes.items():
        if key in ("sampling", "edit") and isinstance(value, dict):
            merged = {**block.get(key, {}), **value}
            if "refine" in value:
                merged["refine"] = {**block.get(key, {}).get("refine", {}), **value["refine"]}
            block[key] = merged
        else:
            block[key] = value
    return block


def text_block(generate: dict[str, Any], prompt: str | None, count: float, seed: float,
               guidance: float, base_steps: float, upsampler_steps: float) -> dict[str, Any]:
    """The Text tab: a prompt through the prior."""
    if not (prompt or "").strip():
        raise DemoInputError(f"Type a prompt first, e.g. '{PROMPT_EXAMPLE}'.")
    return with_overrides(generate, mode="text", prompt=prompt.strip(), count=int(count),
                          seed=int(seed),
                          sampling={"guidance_scale": float(guidance),
                                    "base_steps": int(base_steps),
                                    "upsampler_steps": int(upsampler_steps)})


def portrait_block(generate: dict[str, Any], path: str | None, seed: float) -> dict[str, Any]:
    """The Portrait tab: one avatar of an uploaded image, refined towards it."""
    if not path:
        raise DemoInputError("Upload a portrait first (a PNG or JPEG image), or click one of "
                             "the example portraits.")
    return with_overrides(generate, mode="portrait", portrait=str(path), count=1,
                          seed=int(seed))


def random_block(generate: dict[str, Any], count: float, seed: float) -> dict[str, Any]:
    """The Random tab: unconditional samples."""
    return with_overrides(generate, mode="unconditional", count=int(count), seed=int(seed))


def edit_block(generate: dict[str, Any], source: str | None, source_text: str,
               edit_text: str | None, strength: float, refine_steps: float, seed: int,
               sampling: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Edit tab: one avatar (``avatar:<id>`` or ``result:<name>``) moved from
    ``source_text`` towards ``edit_text``, then refined for ``refine_steps``; ``sampling``
    (a result's own, so its unedited twin is that result again) replaces ``edit.sampling``."""
    if not source:
        raise DemoInputError("Pick a training avatar or a result of this session to edit.")
    if not (edit_text or "").strip():
        raise DemoInputError(f"Type what the avatar should become, e.g. '{EDIT_EXAMPLE}'.")
    return with_overrides(generate, mode="edit", count=1, seed=int(seed),
                          edit={"source": source, "source_text": source_text,
                                "edit_text": edit_text.strip(), "strength": float(strength),
                                "refine": {"steps": int(refine_steps)},
                                **({"sampling": dict(sampling)} if sampling else {})})


def fresh_result_name(prefix: str, mode: str, existing: set[str],
                      now: datetime | None = None) -> str:
    """``<prefix>-<mode>-<YYYYmmdd-HHMMSS>`` (``-2``, ``-3``... when a result of that second
    exists), so a click never replaces an earlier result the way a rerun of the stage does."""
    stem = f"{prefix}-{mode}-{(now or datetime.now()):%Y%m%d-%H%M%S}"
    name, suffix = stem, 1
    while any(folder.startswith(name + "-") for folder in existing):
        suffix += 1
        name = f"{stem}-{suffix}"
    return checked_folder_name(name, "result name")
