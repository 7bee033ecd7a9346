"""Launch the workbench: ``python app.py`` serves on http://127.0.0.1:7860 (``GRADIO_SERVER_PORT`` honoured)."""

from __future__ import annotations

import os


def main() -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from app.ui import build_demo

    port = int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    host = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")
    build_demo().queue().launch(server_name=host, server_port=port, show_error=True)


if __name__ == "__main__":
    main()
