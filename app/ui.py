"""The app's page. For now it shows the project and its landmark categories; the lifting workflow lands with
the lifter (see the README's status)."""

from __future__ import annotations

import gradio as gr

from lifter.skeletons import categories


def category_table() -> list[list[str | int]]:
    """Rows ``[name, landmarks, edges, description]`` of the registry, for display."""
    return [[c.name, c.num_landmarks, len(c.edges), c.description] for c in categories().values()]


def build_demo() -> gr.Blocks:
    """The app as a ``gr.Blocks``; the caller launches it."""
    with gr.Blocks(title="2D-to-3D landmark lifting workbench") as demo:
        gr.Markdown("# 2D-to-3D landmark lifting workbench\n"
                    "Lift the 2D landmarks of bodies, hands, faces and chairs to 3D, and compare the result with "
                    "ground truth and with depth-based lifting. The lifting workflow is being built; the "
                    "categories the project knows are listed below.")
        gr.Dataframe(value=category_table(), headers=["category", "landmarks", "edges", "description"],
                     interactive=False, label="Landmark categories")
    return demo
