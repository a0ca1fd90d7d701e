"""Wiring of the ``render`` stage."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rodin_pipelines.pipelines.render.nodes import (
    make_contact_sheet,
    plan_clip_set_jobs,
    plan_render_jobs,
    summarise_render,
)


def create_pipeline(**kwargs: object) -> Pipeline:
    return Pipeline(
        [
            Node(
                plan_render_jobs,
                inputs="params:render",
                outputs=["avatars", "avatar_index"],
                name="render_avatars",
            ),
            Node(
                plan_clip_set_jobs,
                inputs="params:render",
                outputs=["clip_avatars", "clip_avatar_index"],
                name="render_clip_set",
            ),
            Node(
                make_contact_sheet,
                inputs=["avatars", "params:render.contact_sheet"],
                outputs="render_contact_sheet",
                name="make_contact_sheet",
            ),
            Node(
                summarise_render,
                inputs=["avatars", "avatar_index", "clip_avatars", "clip_avatar_index"],
                outputs="render_metrics",
                name="summarise_render",
            ),
        ]
    )
