"""A contact sheet of the generation benchmark's files, for the README (issue 16).

    python scripts/generation_sheet.py [data/08_reporting/generation] [docs/images]

Reads only the plain files the evaluate stage writes (`conditional/<id>.truth.png` / `<id>.png`,
`text/NN.png` + `prompts.json`, `portrait/`, `edit/`) and composites them on white:
generation_conditional.png (truth above sample, first 12 held-out avatars),
generation_text.png (first 12 prompts, printed to stdout with their file names),
generation_portrait_edit.png (the astronaut and its avatar; 6 edits before/after).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

TILE = 96


def on_white(path: Path) -> np.ndarray:
    image = Image.open(path).convert("RGBA")
    background = Image.new("RGBA", image.size, (255, 255, 255, 255))
    background.alpha_composite(image)
    return np.asarray(background.convert("RGB").resize((TILE, TILE), Image.BILINEAR))


def row(paths: list[Path]) -> np.ndarray:
    return np.concatenate([on_white(p) for p in paths], 1)


def main() -> None:
    report = Path(sys.argv[1] if len(sys.argv) > 1 else "data/08_reporting/generation")
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "docs/images")
    ids = sorted({p.name.split(".")[0] for p in (report / "conditional").glob("*.truth.png")})[:12]
    sheet = np.concatenate([row([report / "conditional" / f"{i}.truth.png" for i in ids]),
                            row([report / "conditional" / f"{i}.png" for i in ids])], 0)
    Image.fromarray(sheet).save(out / "generation_conditional.png")
    prompts = json.loads((report / "text" / "prompts.json").read_text())
    names = sorted(prompts)[:12]
    Image.fromarray(row([report / "text" / n for n in names])).save(out / "generation_text.png")
    for n in names:
        print(n, prompts[n]["prompt"])
    edits = sorted((report / "edit").glob("*.before.png"))[:6]
    pairs = [p for before in edits
             for p in (before, before.with_name(before.name.replace(".before", ".after")))]
    portrait = [report / "portrait" / "astronaut.input.png", report / "portrait" / "astronaut.png"]
    Image.fromarray(row(portrait + pairs)).save(out / "generation_portrait_edit.png")


if __name__ == "__main__":
    main()
