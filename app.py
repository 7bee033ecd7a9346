"""Launch the workbench: ``python app.py`` serves on http://127.0.0.1:7860 (``GRADIO_SERVER_PORT`` honoured).

MediaPipe and the lifter are loaded once, at start-up (not at import), and shared by every user; the queue
serialises heavy work; each browser's editing state is its own ``gr.State``.
"""

from __future__ import annotations

import os


def main() -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from app.pipeline import warm_up
    from app.ui import build_demo, launch_kwargs

    port = int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    host = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")
    demo = build_demo()
    if os.environ.get("LIFTER_APP_WARM_UP", "1") != "0":
        warm_up()
    demo.queue(max_size=64, default_concurrency_limit=2).launch(server_name=host, server_port=port,
                                                                 **launch_kwargs())


if __name__ == "__main__":
    main()
