"""The Gradio user interface. ``build_demo()`` makes the ``gr.Blocks`` (no launch, no model loading at import)."""
