"""Launch the workbench: ``python app.py`` serves on http://127.0.0.1:7860.

``python app.py --help`` lists the options: ``--port`` (default ``GRADIO_SERVER_PORT``, else 7860), ``--host``
(default ``GRADIO_SERVER_NAME``, else 127.0.0.1; 0.0.0.0 serves other machines), ``--data`` and ``--results`` (the
Benchmark tab's built test files and ``python -m lifter.evaluate`` output; default ``data/`` and ``results/`` of the
repository) and ``--no-warm-up`` (``LIFTER_APP_WARM_UP=0``: load MediaPipe and the lifter at the first request, not
at start-up). A port that is taken or a host that cannot be bound is one line, before anything loads.

MediaPipe and the lifter are loaded once, at start-up (not at import), and shared by every user; the queue
serialises heavy work; each browser's editing state is its own ``gr.State``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
from pathlib import Path


def free_to_serve(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be served (a one-line reason), or None when a socket binds to it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        return f"host {host!r} cannot be resolved ({e.strerror})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as the server does: a port left in TIME_WAIT
        try:                                                          # by an app just stopped is free
            s.bind(address)
        except OSError as e:
            taken = e.errno in (98, 48)                  # EADDRINUSE on Linux, macOS
            if taken:
                return (f"port {port} on {host} is taken (another app is serving there): give --port or "
                        f"GRADIO_SERVER_PORT another one")
            return f"cannot serve on {host}:{port} ({e.strerror})"
    return None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python app.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", default=os.environ.get("GRADIO_SERVER_PORT", "7860"),
                        help="port to serve on (default: GRADIO_SERVER_PORT, else 7860)")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to serve on (default: GRADIO_SERVER_NAME, else 127.0.0.1, this machine only; "
                             "0.0.0.0 for other machines too)")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder of built test files for the Benchmark tab (default: the repository's data/)")
    parser.add_argument("--results", type=Path, default=None,
                        help="folder of python -m lifter.evaluate's evaluate.json for the Benchmark tab's summary "
                             "(default: the repository's results/)")
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false",
                        default=os.environ.get("LIFTER_APP_WARM_UP", "1") != "0",
                        help="load MediaPipe and the lifter at the first request instead of at start-up "
                             "(LIFTER_APP_WARM_UP=0 does the same)")
    args = parser.parse_args(argv)
    try:
        args.port = int(args.port)
    except ValueError:
        parser.error(f"--port (GRADIO_SERVER_PORT) must be a whole number from 1 to 65535, got {args.port!r}")
    if not 1 <= args.port <= 65535:
        parser.error(f"--port (GRADIO_SERVER_PORT) must be a whole number from 1 to 65535, got {args.port}")
    for flag, folder in (("--data", args.data), ("--results", args.results)):
        if folder is not None and not folder.is_dir():
            parser.error(f"{flag} {folder} is not a folder")
    why = free_to_serve(args.host, args.port)
    if why:
        parser.exit(1, f"python app.py: error: {why}\n")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from app import samples
    from app.pipeline import warm_up
    from app.ui import build_demo, launch_kwargs

    chosen = {k: v.resolve() for k, v in (("data_dir", args.data), ("results_dir", args.results)) if v is not None}
    if chosen:                                   # the Benchmark tab reads its files through samples.CONFIG
        samples.CONFIG = dataclasses.replace(samples.CONFIG, **chosen)
    demo = build_demo()
    if args.warm_up:
        warm_up()
    demo.queue(max_size=64, default_concurrency_limit=2)
    demo.launch(server_name=args.host, server_port=args.port, **launch_kwargs())


if __name__ == "__main__":
    main()
