"""Tri-planes and the shared decoder on disk: safetensors with metadata, written atomically.

A tri-plane file ``<id>.safetensors`` holds one tensor ``planes`` ``(3, C, R, R)`` (planes XY,
XZ, YZ) and string metadata: the avatar id, the fingerprint of the decoder it was fitted with,
the fit settings' fingerprint, and its fit metrics. The decoder is ``decoder.safetensors`` (its
weights) plus ``decoder.json`` (its :class:`DecoderConfig` and fingerprint), so a network is
rebuilt from plain data, never unpickled.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes
from torch import Tensor

from rodin_pipelines.atomic_files import atomic_write_bytes, atomic_write_json
from rodin_pipelines.errors import InputDataError
from rodin_pipelines.triplane.decoder import DecoderConfig, TriplaneDecoder, decoder_fingerprint
from rodin_pipelines.triplane.layout import check_triplane_shape

PLANES_KEY = "planes"
DECODER_FINGERPRINT_KEY = "decoder_fingerprint"
FIT_FINGERPRINT_KEY = "fit_fingerprint"


def save_triplane(path: str | Path, planes: Tensor, metadata: dict[str, str]) -> None:
    """Write ``planes`` ``(3, C, R, R)`` and string ``metadata`` atomically."""
    check_triplane_shape(planes)
    data = save_safetensors_bytes({PLANES_KEY: planes.detach().float().contiguous().cpu()},
                                  metadata={k: str(v) for k, v in metadata.items()})
    atomic_write_bytes(path, data)


def read_triplane_metadata(path: str | Path) -> dict[str, str]:
    """Only the metadata of a tri-plane file (cheap: the header, not the tensor).

    Raises:
        InputDataError: a damaged header (one declaring more bytes than the file holds would
            otherwise ask for exabytes of memory).
    """
    path = Path(path)
    damaged = "delete it and rerun the fit stage"
    size = path.stat().st_size
    with path.open("rb") as stream:
        header_size = int.from_bytes(stream.read(8), "little")
        if not 0 < header_size <= size - 8:
            raise InputDataError(path, f"damaged safetensors file: its header declares "
                                 f"{header_size} bytes in a file of {size}", damaged)
        try:
            header = json.loads(stream.read(header_size))
        except ValueError as error:  # also bad UTF-8
            raise InputDataError(path, f"damaged safetensors header ({error})", damaged) from error
    metadata = header.get("__metadata__", {}) if isinstance(header, dict) else None
    if not isinstance(metadata, dict):
        raise InputDataError(path, "damaged safetensors header (not a JSON object)", damaged)
    return metadata


def load_triplane(path: str | Path, channels: int | None = None,
                  resolution: int | None = None) -> tuple[Tensor, dict[str, str]]:
    """``(planes (3, C, R, R), metadata)``; a shape that does not fit the decoder is named."""
    path = Path(path)
    if not path.is_file():
        raise InputDataError(path, "tri-plane file not found", "run the fit stage")
    raw = path.read_bytes()
    try:
        planes = load_safetensors_bytes(raw)[PLANES_KEY]
    except Exception as error:  # noqa: BLE001 - any parse failure means a damaged file
        raise InputDataError(path, f"not a tri-plane safetensors file ({error})",
                             "delete it and rerun the fit stage") from error
    if planes.ndim != 4:  # the shape check allows batches; one file holds one tri-plane
        raise InputDataError(path, f"tri-plane must be (3, C, R, R), got {tuple(planes.shape)}",
                             "delete it and rerun the fit stage")
    try:
        check_triplane_shape(planes, channels, resolution)
    except ValueError as error:
        raise InputDataError(path, f"{error}, which does not match the decoder config",
                             "refit with the current decoder or use the decoder it was "
                             "fitted with") from error
    if not planes.is_floating_point() or not bool(planes.isfinite().all()):
        raise InputDataError(path, "tri-plane holds NaN or infinite (or non-float) values",
                             "delete it and rerun the fit stage")
    return planes, read_triplane_metadata(path)


def save_decoder(folder: str | Path, decoder: TriplaneDecoder, stem: str = "decoder") -> None:
    """``<stem>.safetensors`` (weights) and ``<stem>.json`` (config + fingerprint)."""
    folder = Path(folder)
    weights = {k: v.detach().contiguous().cpu() for k, v in decoder.state_dict().items()}
    atomic_write_bytes(folder / f"{stem}.safetensors", save_safetensors_bytes(weights))
    atomic_write_json(folder / f"{stem}.json", {
        "config": decoder.config.to_dict(), "fingerprint": decoder_fingerprint(decoder),
    })


def load_decoder(folder: str | Path, stem: str = "decoder") -> TriplaneDecoder:
    """Rebuild the decoder from its JSON config and load its weights."""
    folder = Path(folder)
    config_path, weights_path = folder / f"{stem}.json", folder / f"{stem}.safetensors"
    for path in (config_path, weights_path):
        if not path.is_file():
            raise InputDataError(path, "decoder file not found", "run the fit stage first")
    described = json.loads(config_path.read_text(encoding="utf-8"))
    known = {f.name for f in fields(DecoderConfig)}
    decoder = TriplaneDecoder(DecoderConfig(**{k: v for k, v in described["config"].items()
                                               if k in known}))
    decoder.load_state_dict(load_safetensors_bytes(weights_path.read_bytes()))
    return decoder.eval()
