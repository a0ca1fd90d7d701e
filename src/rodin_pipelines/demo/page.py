"""The Gradio page: four tabs of inputs (Text, Portrait, Edit, Random) over one result panel
(a 3D view of the GLB, the turntable, the views, the description, downloads).

Every button runs :class:`~rodin_pipelines.demo.service.DemoService` through Gradio's queue, one
job at a time; refusals (:class:`~rodin_pipelines.demo.requests.DemoInputError`) become the
page's error message. The Text tab's job is the API endpoint ``text_to_avatar``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from rodin_pipelines.demo.requests import (
    EDIT_EXAMPLE, PROMPT_EXAMPLE, DemoInputError, portrait_block, random_block, text_block,
)
from rodin_pipelines.demo.service import DemoService, ResultFiles
from rodin_pipelines.errors import InputDataError
from rodin_pipelines.generation.sources import portrait_image

TEXT_API_NAME = "text_to_avatar"
THEME_FONTS = ["ui-sans-serif", "system-ui", "sans-serif"]
"""Local fonts: the default theme's web fonts would be fetched from the internet."""
VIEWER_HEIGHT = 360
"""Pixels; the 3D view and the turntable side by side."""
VIEWS_HEIGHT = 200
"""Pixels; the row of views, scaled up from the render size."""
CAMERA_RADIUS = 3.0
"""The 3D view's starting distance from the centre of the avatar's [-1, 1] cube (Gradio frames
the whole mesh, floaters included, otherwise)."""
CSS = ("#views img, #portrait-preview img "
       "{ width: 100%; height: 100%; object-fit: contain; }")
"""Renders fill their boxes: a 64-pixel picture shown at its own size would be a thumbnail."""

EMPTY_FIELD = ("This avatar's field has no surface, so there is no mesh to show (its views are "
               "empty too): the diffusion models are undertrained, e.g. the test profile's 6 "
               "steps. Train them longer (README, 'The demo page').")
INTRODUCTION = """# RODIN: 3D avatars from text, a portrait, an edit or nothing
Pick a tab, set its inputs and press its button; the result (a mesh you can turn with the mouse,
a turntable, the views, what made it) appears below and is written to `{folder}`."""


def run_job(job: Callable[[], list[ResultFiles]]) -> list[ResultFiles]:
    """``job``'s results, its refusals as the page's error message."""
    try:
        return job()
    except DemoInputError as refused:
        raise gr.Error(str(refused), print_exception=False) from refused


def framed_preview(path: str | None, size: int) -> np.ndarray | None:
    """The uploaded portrait framed as the model reads it, or ``None`` (with a warning) when it
    cannot be read."""
    if not path:
        return None
    try:
        rgba = portrait_image(path, size).numpy()
    except InputDataError as error:
        gr.Warning(f"{Path(path).name}: {error.problem}. {error.fix or ''}")
        return None
    return (rgba * 255).round().astype(np.uint8)


def build_page(service: DemoService, banner: str,
               example_portraits: dict[str, Path]) -> gr.Blocks:
    """The page over ``service``; ``banner`` says what runs it (and what is missing);
    ``example_portraits`` are offered on the Portrait tab by label."""
    parameters = service.project.parameters
    generate, settings = parameters["generate"], service.settings
    sampling = {**parameters["diffusion"]["sampling"], **generate["sampling"]}
    size = parameters["render"]["views"]["image_size"]
    steps = {"minimum": 1, "maximum": settings.max_steps, "step": 1}

    with gr.Blocks(title="RODIN avatars", analytics_enabled=False) as page:
        gr.Markdown(INTRODUCTION.format(folder=service.project.results_folder))
        gr.Markdown(banner, elem_id="banner")
        names = gr.State([])  # this browser session's results, oldest first
        with gr.Tabs():
            with gr.Tab("Text"):
                prompt = gr.Textbox(label="Prompt", placeholder=PROMPT_EXAMPLE, elem_id="prompt")
                with gr.Row():
                    count = gr.Slider(1, settings.max_count, value=1, step=1, label="Count")
                    seed = gr.Number(value=generate["seed"], precision=0, label="Seed")
                    guidance = gr.Slider(0.0, settings.max_guidance, step=0.1,
                                         value=sampling["guidance_scale"], label="Guidance")
                with gr.Row():
                    base_steps = gr.Slider(value=sampling["base_steps"],
                                           label=f"Base sampler steps ({sampling['sampler']})",
                                           **steps)
                    upsampler_steps = gr.Slider(value=sampling["upsampler_steps"],
                                                label="Upsampler steps", **steps)
                text_button = gr.Button("Generate from text", variant="primary",
                                        elem_id="text-generate")
            with gr.Tab("Portrait"):
                with gr.Row():
                    portrait = gr.File(label="Portrait (PNG or JPEG)", type="filepath",
                                       file_types=[".png", ".jpg", ".jpeg"])
                    preview = gr.Image(label="As the model reads it", interactive=False,
                                       height=VIEWS_HEIGHT, elem_id="portrait-preview")
                gr.Examples([[str(path)] for path in example_portraits.values()],
                            inputs=[portrait], example_labels=list(example_portraits),
                            label="Example portraits: the astronaut, held-out avatars' "
                            "frontal renders")
                portrait_seed = gr.Number(value=generate["seed"], precision=0, label="Seed")
                portrait_button = gr.Button("Generate from the portrait", variant="primary")
            with gr.Tab("Edit"):
                source = gr.Dropdown(service.edit_sources([]), label="Avatar to edit "
                                     "(a result of this session, or a training avatar)")
                edit_text = gr.Textbox(label="Edit text", value=generate["edit"]["edit_text"],
                                       placeholder=EDIT_EXAMPLE)
                with gr.Row():
                    strength = gr.Slider(0.0, 2.0, step=0.1, value=generate["edit"]["strength"],
                                         label="Strength")
                    refine_steps = gr.Slider(0, settings.max_refine_steps, step=1,
                                             value=generate["edit"]["refine"]["steps"],
                                             label="Refinement steps")
                edit_button = gr.Button("Edit", variant="primary")
            with gr.Tab("Random"):
                with gr.Row():
                    random_count = gr.Slider(1, settings.max_count, value=1, step=1,
                                             label="Count")
                    random_seed = gr.Number(value=generate["seed"], precision=0, label="Seed")
                random_button = gr.Button("Generate at random", variant="primary")

        gr.Markdown("## Result")
        picker = gr.Dropdown([], label="Results of this session", interactive=True)
        with gr.Row():
            viewer = gr.Model3D(label="3D view (drag to turn)", height=VIEWER_HEIGHT,
                                camera_position=(None, None, CAMERA_RADIUS), elem_id="viewer")
            turntable = gr.Video(label="Turntable", height=VIEWER_HEIGHT, autoplay=True,
                                 loop=True, elem_id="turntable")
        views = gr.Image(label="Views", interactive=False, elem_id="views",
                         height=VIEWS_HEIGHT)
        description = gr.JSON(label="Description")
        with gr.Row():
            glb = gr.DownloadButton("Download the GLB mesh", visible=False, elem_id="glb")
            triplane = gr.DownloadButton("Download the tri-plane", visible=False,
                                         elem_id="triplane")
            video = gr.DownloadButton("Download the turntable (MP4)", visible=False,
                                      elem_id="turntable-mp4")

        panel = [viewer, turntable, views, description, glb, triplane, video]

        def shown(result: ResultFiles | None) -> list[Any]:
            if result is None:
                return [None, None, None, None] + [gr.DownloadButton(visible=False)] * 3
            mesh = str(result.mesh) if result.mesh else None
            return [mesh, str(result.turntable), str(result.views),
                    {"result": result.name, "folder": str(result.folder), **result.description},
                    gr.DownloadButton(value=mesh, visible=mesh is not None),
                    gr.DownloadButton(value=str(result.triplane), visible=True),
                    gr.DownloadButton(value=str(result.turntable), visible=True)]

        def finished(results: list[ResultFiles], session: list[str]) -> list[Any]:
            if results[0].mesh is None:
                gr.Warning(EMPTY_FIELD, duration=None)
            session = session + [r.name for r in reversed(results)]
            return [gr.Dropdown(choices=list(reversed(session)), value=results[0].name),
                    *shown(results[0]), session,
                    gr.Dropdown(choices=service.edit_sources(session))]

        outputs = [picker, *panel, names, source]

        # Parameter names are the API's (gradio_client scripts see them).
        def from_text(prompt, count, seed, guidance, base_steps, upsampler_steps, session,
                      progress=gr.Progress(track_tqdm=True)):
            progress(0, desc="Loading the trained models")
            return finished(run_job(lambda: service.generate(text_block(
                generate, prompt, count, seed, guidance, base_steps, upsampler_steps))),
                session)

        def from_portrait(portrait, seed, session, progress=gr.Progress(track_tqdm=True)):
            progress(0, desc="Loading the trained models")
            return finished(run_job(lambda: service.generate(portrait_block(
                generate, portrait, seed))), session)

        def from_edit(source, edit_text, strength, refine_steps, session,
                      progress=gr.Progress(track_tqdm=True)):
            progress(0, desc="Loading the trained models")
            return finished(run_job(lambda: service.edit(source, edit_text, strength,
                                                         refine_steps)), session)

        def at_random(count, seed, session, progress=gr.Progress(track_tqdm=True)):
            progress(0, desc="Loading the trained models")
            return finished(run_job(lambda: service.generate(random_block(
                generate, count, seed))), session)

        def pick(name: str | None, session: list[str]) -> list[Any]:
            # Only this session's results: a name is never a path to read from elsewhere.
            known = name in session
            return shown(ResultFiles.read(service.project.results_folder, name) if known
                         else None)

        text_inputs = [prompt, count, seed, guidance, base_steps, upsampler_steps, names]
        jobs = {"outputs": outputs, "show_progress_on": [viewer, turntable]}
        text_button.click(from_text, text_inputs, api_name=TEXT_API_NAME, **jobs)
        prompt.submit(from_text, text_inputs, api_visibility="private", **jobs)
        portrait_button.click(from_portrait, [portrait, portrait_seed, names],
                              api_name="portrait_to_avatar", **jobs)
        edit_button.click(from_edit, [source, edit_text, strength, refine_steps, names],
                          api_name="edit_avatar", **jobs)
        random_button.click(at_random, [random_count, random_seed, names],
                            api_name="random_avatar", **jobs)
        portrait.change(lambda path: framed_preview(path, size), portrait, preview,
                        api_visibility="private")
        picker.input(pick, [picker, names], panel, api_visibility="private")
    return page


def launch(page: gr.Blocks, host: str, port: int, max_upload_megabytes: float,
           allowed: list[Path], block: bool = True) -> None:
    """Serve ``page`` at ``http://host:port`` with one job at a time; uploads over the limit are
    refused by Gradio before they are stored."""
    page.queue(default_concurrency_limit=1).launch(
        server_name=host, server_port=port, show_error=True, ssr_mode=False,
        max_file_size=int(max_upload_megabytes * 1024 * 1024),
        allowed_paths=[str(path) for path in allowed], prevent_thread_lock=not block,
        theme=gr.themes.Default(font=THEME_FONTS, font_mono=["ui-monospace", "monospace"]),
        css=CSS, footer_links=["api"])
