"""Speed and memory of the lifter: ``python -m lifter.bench [--out results]`` (bench.json and bench.md there).

Per category and device (CPU always, CUDA when present, bf16 autocast on CUDA):

- single-pose latency of ``Lifter.lift`` (one ``(N, 2)`` pose, validation and copies included): p50 and p90;
- batched throughput (poses/s) at ``--batch`` poses per call: median over repeats;
- peak memory during that model and category's timings: CUDA ``max_memory_allocated``; on CPU the process's
  peak resident set size (Linux: the peak is reset before each, through ``/proc/self/clear_refs``; elsewhere it is
  the process's peak so far);
- cold start: ``load_lifter()`` + first lift in a fresh Python process.

Every figure is also measured, in the same process and on the same inputs, for a baseline: the same network
with the identity code at the input only (the ablation), so the ratio shows what re-injecting the identity at
every layer costs; for the lifter without mirror averaging (``lift(..., mirror_average=False)``: one network
pass per pose instead of two); for the categories it applies to (chairs, faces), without the symmetry
refinement (``lift(..., symmetrize=False)``); for faces, without the shape-basis refinement
(``lift(..., shape_basis=False)``); and, for hands and bodies, without the bone-length refinement
(``lift(..., bone_lengths=False)``). A last row per category times ``lift_with_camera(points2d, category)``
without intrinsics (the camera guessed from the landmarks: ``lift()``, a pinhole reading and the refinements run
again along its rays), what the README recommends for close cameras when the intrinsics are unknown; and
one times the network alone (``lift()`` with mirror averaging, hidden-landmark completion and every refinement
off: one network pass per pose, validation and copies included), which shows what mirror averaging and the
refinements cost against the network; and, where the lifter splits its network passes by a token budget (on a
CPU: :data:`lifter.api.CPU_TOKENS`), the lifter with whole chunks per pass instead. Every refinement runs in
torch on the lifter's device, with the network, but the faces' shape basis fitted through the pinhole (numpy, on
the host).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from lifter.api import DEFAULT_WEIGHTS, LoadedLifter, WeightsError, load_lifter, weights_record
from lifter.checked_files import file_in_the_way, made_writable
from lifter.devices import cpu_description
from lifter.model import Lifter, LifterConfig
from lifter.skeletons import categories as registered_categories
from lifter.symmetry import refines as symmetry_refines
from lifter.views import DataFileError, read_data_file

BASELINE = "baseline (identity at input only)"
NO_SYMMETRY = "lifter without the symmetry refinement"
NO_BASIS = "lifter without the shape-basis refinement"
NO_BONES = "lifter without the bone-length refinement"
GUESSED = "lift_with_camera, camera guessed (no intrinsics)"
NETWORK_ONLY = "network only (no mirror averaging, completion or refinement)"
WHOLE_PASSES = "lifter, whole chunks per network pass (no token budget)"


def pose_source(category: str, data: Path | None) -> Path | None:
    """The test split ``sample_inputs`` reads for ``category``, or None when it falls back to random poses."""
    path = data / f"{category}_test.npz" if data else None
    return path if path is not None and path.exists() else None


def sample_inputs(category: str, n_landmarks: int, count: int, data: Path | None, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(poses (count, N, 2) float32, visible (count, N) bool)``: test views from ``data`` when built (those with
    every landmark visible; for a category without such views, e.g. chairs, which lack some landmarks, every view
    with its own visibility), else random pixel poses of the right size, all visible. Raises
    :class:`lifter.views.DataFileError` for a test file that is not the category's."""
    path = pose_source(category, data)
    if path is not None:
        f = read_data_file(path, category, ("points2d", "visible"))
        pts, vis = f["points2d"], f["visible"]
        whole = vis.all(1)
        if whole.any():
            pts, vis = pts[whole], vis[whole]
        return (np.resize(pts, (count,) + pts.shape[1:]).astype(np.float32),
                np.resize(vis, (count,) + vis.shape[1:]).astype(bool))
    poses = np.random.default_rng(seed).normal(size=(count, n_landmarks, 2)) * 100 + 500
    return poses.astype(np.float32), np.ones((count, n_landmarks), bool)


def latency_ms(lifter: LoadedLifter, pose: np.ndarray, category: str, repeats: int,
               visible: np.ndarray | None = None) -> list[float]:
    """Milliseconds of ``repeats`` single-pose lifts of ``pose (N, 2)`` (``visible (N,)`` or None), after 10."""
    for _ in range(10):
        lifter.lift(pose, category, visible=visible)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        lifter.lift(pose, category, visible=visible)
        times.append(1000 * (time.perf_counter() - t))
    return times


def throughput(lifter: LoadedLifter, poses: np.ndarray, category: str, repeats: int,
               visible: np.ndarray | None = None) -> float:
    """Median poses/s of ``repeats`` lifts of ``poses (B, N, 2)`` in one call (``visible (B, N)`` or None)."""
    lifter.lift(poses, category, visible=visible)
    rates = []
    for _ in range(repeats):
        if lifter.device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        lifter.lift(poses, category, visible=visible)
        if lifter.device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(len(poses) / (time.perf_counter() - t))
    return statistics.median(rates)


def reset_peak_rss() -> None:
    """Reset the process's peak RSS (Linux ``VmHWM``) so that the next :func:`peak_rss_mib` covers what follows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mib() -> float:
    """Peak resident set size in MiB: ``VmHWM`` since the last reset on Linux, else the process's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def cold_start_seconds(weights: Path) -> float:
    """``load_lifter()`` + first lift of one human17 pose in a fresh process (import of torch included), run from
    the repository's root (``weights`` is resolved against the current folder first). Raises RuntimeError with the
    process's last lines when it fails."""
    code = ("import time; t = time.perf_counter(); import numpy as np; from lifter import load_lifter; "
            f"l = load_lifter({str(Path(weights).resolve())!r}, device='cpu'); "
            "l.lift(np.random.default_rng(0).normal(size=(17, 2)) * 100, 'human17'); "
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    if out.returncode != 0:
        raise RuntimeError(f"the cold-start process failed: {out.stderr.strip().splitlines()[-1:]}")
    return float(out.stdout.strip().splitlines()[-1])


class BenchInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`bench`: ``rows``, the rows timed until then (without their ratios)."""

    def __init__(self, rows: list[dict]) -> None:
        super().__init__(f"interrupted after {len(rows)} rows")
        self.rows = rows


class _Options:
    """A reading of the lifter behind ``lift``'s signature: ``method`` (``lift``, or ``lift_with_camera``, which
    without intrinsics reads through the camera guessed from the landmarks) with some options set, e.g.
    ``mirror_average=False`` (one network pass per pose instead of two) or ``symmetrize=False``."""

    def __init__(self, lifter: LoadedLifter, method: str = "lift", **options) -> None:
        self.read, self.device, self.options = getattr(lifter, method), lifter.device, options

    def lift(self, *a, **k):
        return self.read(*a, **self.options, **k)


class _Autocast:
    """bf16 autocast around ``lift`` on CUDA."""

    def __init__(self, lifter: LoadedLifter) -> None:
        self.lifter, self.device = lifter, lifter.device

    def lift(self, *a, **k):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return self.lifter.lift(*a, **k)


def _timed_rows(weights: Path, data: Path | None, batch: int, repeats: int, devices: list[str],
                categories: list[str] | None, results: list[dict]) -> LoadedLifter:
    """:func:`bench`'s timings, each row appended to ``results`` as it is measured; returns the lifter of the last
    device."""
    main: LoadedLifter | None = None
    for device in devices:
        main = load_lifter(weights, device=device)
        base_cfg = LifterConfig(**{**main.model.cfg.to_dict(), "identity": "input_only"})
        torch.manual_seed(0)
        baseline = LoadedLifter(Lifter(base_cfg).to(device), {}, torch.device(device), bases=main.bases,
                                proportions=main.proportions)
        models = {"lifter": main, "lifter without mirror averaging": _Options(main, mirror_average=False),
                  NO_SYMMETRY: _Options(main, symmetrize=False), NO_BASIS: _Options(main, shape_basis=False),
                  NO_BONES: _Options(main, bone_lengths=False), BASELINE: baseline,
                  GUESSED: _Options(main, "lift_with_camera"),
                  NETWORK_ONLY: _Options(main, mirror_average=False, complete_hidden=False, symmetrize=False,
                                         shape_basis=False, bone_lengths=False)}
        if main.token_budget:                           # the CPU's cache-sized passes against whole chunks
            models[WHOLE_PASSES] = LoadedLifter(main.model, main.record, main.device, bases=main.bases,
                                                proportions=main.proportions, token_budget=0)
        if device == "cuda":
            models = {k: _Autocast(v) for k, v in models.items()}
        for category, n in main.categories.items():
            if categories is not None and category not in categories:
                continue
            poses, visible = sample_inputs(category, n, batch, data)
            for label, model in models.items():
                if ((label == NO_SYMMETRY and not symmetry_refines(category))
                        or (label == NO_BASIS and category not in main.bases)
                        or (label == NO_BONES and category not in main.proportions)):
                    continue                                   # the same computation as "lifter"
                reset_peak_rss()                               # peak memory per row, on either device
                if device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                lat = latency_ms(model, poses[0], category, repeats, visible[0])
                rate = throughput(model, poses, category, max(3, repeats // 40), visible)
                row = {"device": device, "category": category, "model": label, "batch": batch,
                       "latency_p50_ms": round(percentile(lat, 50), 3),
                       "latency_p90_ms": round(percentile(lat, 90), 3), "throughput_poses_s": round(rate, 1)}
                if device == "cuda":
                    row["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated() / 2 ** 20, 1)
                else:
                    row["peak_rss_mib"] = round(peak_rss_mib(), 1)
                results.append(row)
                print(f"{device:4} {category:8} {label:38} p50 {row['latency_p50_ms']:8.3f} ms  "
                      f"p90 {row['latency_p90_ms']:8.3f} ms  {row['throughput_poses_s']:>11,.0f} poses/s")
    return main


def bench(weights: Path, data: Path | None, batch: int, repeats: int, devices: list[str],
          categories: list[str] | None = None) -> dict:
    """The bench's rows (module docstring) on each of ``devices`` for ``categories`` (None: every category of the
    lifter) -> the report :func:`to_markdown` formats."""
    results: list[dict] = []
    try:
        main = _timed_rows(weights, data, batch, repeats, devices, categories, results)
        cold = cold_start_seconds(weights)
    except KeyboardInterrupt:
        raise BenchInterrupted(results) from None
    for row in results:
        base = next(r for r in results if r["device"] == row["device"] and r["category"] == row["category"]
                    and r["model"] == BASELINE)
        row["latency_ratio_vs_baseline"] = round(row["latency_p50_ms"] / base["latency_p50_ms"], 3)
        row["throughput_ratio_vs_baseline"] = round(row["throughput_poses_s"] / base["throughput_poses_s"], 3)
    sources = {c: pose_source(c, data) for c in main.categories if categories is None or c in categories}
    return {"weights": str(weights), "threads": torch.get_num_threads(), "torch": torch.__version__,
            "poses": {c: str(p) if p else "random" for c, p in sources.items()},
            "cpu": cpu_description(),                                   # model name and bf16 instructions
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "weights_mb": round(Path(weights).stat().st_size / 1e6, 2),
            "cold_start_s": round(cold, 2), "results": results}


def to_markdown(report: dict) -> str:
    lines = [f"CPU: {report.get('cpu', 'not recorded')}; GPU: {report.get('cuda') or 'none'}", "",
             f"threads: {report['threads']}, weights {report['weights_mb']} MB, cold start (load + first lift, "
             f"fresh process): {report['cold_start_s']} s",
             "poses timed: " + ", ".join(f"{c} {src}" for c, src in report.get("poses", {}).items()), "",
             "| device | category | model | p50 ms | p90 ms | poses/s (batch) | p50 vs baseline | "
             "throughput vs baseline | peak MiB |", "|---|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        mem = r.get("peak_cuda_mib", r.get("peak_rss_mib"))
        lines.append(f"| {r['device']} | {r['category']} | {r['model']} | {r['latency_p50_ms']:.2f} | "
                     f"{r['latency_p90_ms']:.2f} | {r['throughput_poses_s']:,.0f} ({r['batch']}) | "
                     f"{r['latency_ratio_vs_baseline']:.2f}x | {r['throughput_ratio_vs_baseline']:.2f}x | {mem} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifter.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--data", type=Path, default=None,
                        help="folder of built test splits to time real poses on (default: data/ when built, "
                             "else random poses of the right size)")
    parser.add_argument("--batch", type=int, default=1024, help="poses per call for the throughput figure")
    parser.add_argument("--repeats", type=int, default=200, help="single-pose timings per model and category")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, default=Path("results"), help="the folder bench.json/.md go to")
    parser.add_argument("--devices", nargs="+", choices=["cpu", "cuda"], default=None,
                        help="devices to time (default: cpu, and cuda when present); e.g. --devices cuda --batch "
                             "65536 for a GPU's throughput alone")
    parser.add_argument("--categories", nargs="+", default=None, metavar="CATEGORY",
                        help="categories to time (default: all of the lifter's)")
    args = parser.parse_args(argv)
    for flag, value in (("--batch", args.batch), ("--repeats", args.repeats), ("--threads", args.threads)):
        if value is not None and value < 1:
            parser.error(f"{flag} must be at least 1, got {value}")
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if "cuda" in devices and not torch.cuda.is_available():
        parser.error("--devices cuda: torch sees no CUDA device here (a CPU build of torch, or no GPU)")
    known = sorted(registered_categories())
    unknown = sorted(set(args.categories or []) - set(known))
    if unknown:
        parser.error(f"--categories: unknown {', '.join(unknown)} (known: {', '.join(known)})")
    if args.data is not None and not args.data.is_dir():
        parser.error(f"--data {args.data}: no such folder (build it with python -m lifter.data build --source "
                     f"../shared/data --out {args.data}, or leave --data out to time random poses)")
    blocked = file_in_the_way(args.out)                       # before the timings, not after them
    if blocked:
        parser.error(f"--out {args.out}: {blocked} is a file, not a folder")
    try:
        wanted = args.categories or list(weights_record(args.weights)["model"]["categories"])   # not loaded yet
    except WeightsError as e:                        # a missing or corrupted --weights: named, no traceback
        parser.error(str(e))
    if args.data is not None:                        # an explicit folder: its test files, not random poses
        lacking = [c for c in wanted if pose_source(c, args.data) is None]
        if lacking:
            parser.error(f"--data {args.data} has no test file of {', '.join(lacking)} "
                         f"({', '.join(f'{c}_test.npz' for c in lacking)}): build them, choose --categories, or "
                         f"leave --data out to time random poses where data/ lacks them")
    unwritable = made_writable(args.out)             # the last check: nothing is made before
    if unwritable:
        parser.error(f"--out {args.out}: {unwritable}")
    data = args.data if args.data is not None else (Path("data") if Path("data").is_dir() else None)
    try:
        report = bench(args.weights, data, args.batch, args.repeats, devices, args.categories)
    except WeightsError as e:
        parser.error(str(e))
    except DataFileError as e:
        parser.exit(1, f"{parser.prog}: error: {e}\n")
    except BenchInterrupted as e:
        partial = args.out / "bench.partial.json"
        partial.write_text(json.dumps({"weights": str(args.weights), "interrupted": True, "results": e.rows},
                                      indent=1) + "\n")
        print(f"\ninterrupted: the {len(e.rows)} rows timed so far are in {partial} (without their ratios to the "
              f"baseline); bench.json and bench.md are written by a whole run", file=sys.stderr)
        return 130
    (args.out / "bench.json").write_text(json.dumps(report, indent=1) + "\n")
    md = to_markdown(report)
    (args.out / "bench.md").write_text(md)
    (args.out / "bench.partial.json").unlink(missing_ok=True)         # an earlier interrupted run's, now superseded
    print()
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
