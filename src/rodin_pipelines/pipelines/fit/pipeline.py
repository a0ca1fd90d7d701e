"""Wiring of the ``fit`` stage."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rodin_pipelines.pipelines.fit.nodes import (
    compute_plane_statistics,
    evaluate_fits,
    export_example_meshes,
    plan_plane_fits,
    plan_shared_decoder,
    plot_phase1_losses,
)


def create_pipeline(**kwargs: object) -> Pipeline:
    return Pipeline(
        [
            Node(plan_shared_decoder,
                 inputs=["avatars", "avatar_index", "params:fit", "params:render.scene"],
                 outputs="shared_decoder", name="fit_shared_decoder"),
            Node(plan_plane_fits,
                 inputs=["avatars", "shared_decoder", "params:fit", "params:render.scene"],
                 outputs="triplanes", name="fit_triplanes"),
            Node(evaluate_fits,
                 inputs=["avatars", "triplanes", "shared_decoder", "avatar_index",
                         "params:fit.evaluation"],
                 outputs=["fit_quality", "fit_metrics", "fit_comparison"], name="evaluate_fits"),
            Node(plot_phase1_losses, inputs="shared_decoder", outputs="fit_loss_curves",
                 name="plot_phase1_losses"),
            Node(compute_plane_statistics, inputs=["triplanes", "avatar_index"],
                 outputs="plane_statistics", name="compute_plane_statistics"),
            Node(export_example_meshes,
                 inputs=["triplanes", "shared_decoder", "avatar_index", "params:fit.meshes"],
                 outputs="fit_meshes", name="export_example_meshes"),
        ]
    )
