"""An image whose header declares too many pixels is refused before decoding, naming the file
and the limit, wherever a user hands us images (an import's views, a portrait)."""

import struct
import zlib
from pathlib import Path

import pytest

from rodin_pipelines.avatars.folder import read_rgba_image
from rodin_pipelines.avatars.image_files import MAX_IMAGE_PIXELS
from rodin_pipelines.errors import InputDataError
from rodin_pipelines.generation.portrait import read_portrait


def png_declaring(path: Path, width: int, height: int) -> Path:
    """A few bytes of PNG whose header claims ``width`` x ``height`` RGBA pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("side", [30000, 9000])  # above Pillow's own limit; above only ours
@pytest.mark.parametrize("reader", [read_rgba_image, read_portrait])
def test_a_decompression_bomb_is_refused_naming_the_file_and_the_limit(tmp_path, side, reader):
    assert side * side > MAX_IMAGE_PIXELS
    bomb = png_declaring(tmp_path / "bomb.png", side, side)
    with pytest.raises(InputDataError) as refused:
        reader(bomb)
    assert refused.value.path == bomb
    assert str(bomb) in str(refused.value) and "8192 x 8192" in str(refused.value)
