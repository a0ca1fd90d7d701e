"""The README's portrait and edit pictures, from the generate stage's result folders.

    kedro run --pipeline generate --params "generate.mode=portrait,generate.portrait=astronaut,generate.count=1,generate.name=astronaut"
    kedro run --pipeline generate --params "generate.mode=edit,generate.edit.source=avatar:avatar_000009,generate.edit.edit_text=a person with red hair,generate.name=edit-red"
    python scripts/readme_pictures.py [data/07_model_output/generated] [docs/images]

portrait_astronaut.png: the astronaut photograph framed as the model reads it, the avatar's
frontal view and its view at 45° (`astronaut-00/views.png`, tiles 0 and 1);
edit_red_hair.png: the unedited result's views above the edited one's
(`edit-red-unedited-00/views.png`, `edit-red-edited-00/views.png`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from rodin_pipelines.generation.sources import ASTRONAUT, portrait_image

VIEW_PADDING = 2
"""Pixels around each view in a result's views.png (``contact_sheet.image_grid``'s padding)."""
TILE = 192
SCALE = 3


def view_tiles(path: Path) -> list[np.ndarray]:
    """The views of one result's ``views.png``, a row of padded square tiles, without padding."""
    strip = np.asarray(Image.open(path).convert("RGB"))
    side = strip.shape[0]
    return [strip[VIEW_PADDING:side - VIEW_PADDING,
                  x + VIEW_PADDING:x + side - VIEW_PADDING]
            for x in range(0, strip.shape[1], side)]


def enlarged(image: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))


def main() -> None:
    results = Path(sys.argv[1] if len(sys.argv) > 1 else "data/07_model_output/generated")
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "docs/images")
    views = view_tiles(results / "astronaut-00" / "views.png")
    framed = portrait_image(ASTRONAUT, views[0].shape[0]).numpy()
    framed = (framed[..., :3] * 255).round().astype(np.uint8)  # a photograph: opaque
    Image.fromarray(np.concatenate([enlarged(framed, TILE), enlarged(views[0], TILE),
                                    enlarged(views[1], TILE)], 1)).save(out / "portrait_astronaut.png")
    rows = [np.asarray(Image.open(results / f"edit-red-{kind}-00" / "views.png").convert("RGB"))
            for kind in ("unedited", "edited")]
    sheet = Image.fromarray(np.concatenate(rows, 0))
    sheet.resize((sheet.width * SCALE, sheet.height * SCALE),
                 Image.Resampling.NEAREST).save(out / "edit_red_hair.png")
    print(f"wrote {out / 'portrait_astronaut.png'} and {out / 'edit_red_hair.png'}")


if __name__ == "__main__":
    main()
