"""Depth networks: depth-from-RGB foundation models behind one small interface (optional dependencies).

``estimate_depth(image, network)`` returns a depth map in the *image's* pixel grid, so that the 2D landmarks
of that image can be back-projected directly (:func:`lifter.baselines.backproject_landmarks`).

Registered networks (``NETWORKS``): name, Hugging Face model id, the env var of a local weights folder, output.

- ``depth-anything-v2-small`` (default): ``depth-anything/Depth-Anything-V2-Small-hf``,
  ``LIFTER_DEPTH_ANYTHING``; relative (1 / disparity)
- ``depth-anything-v2-base``: ``depth-anything/Depth-Anything-V2-Base-hf``, ``LIFTER_DEPTH_ANYTHING_BASE``; relative
- ``depth-anything-v2-large``: ``depth-anything/Depth-Anything-V2-Large-hf``, ``LIFTER_DEPTH_ANYTHING_LARGE``;
  relative
- ``depth-anything-v2-metric-indoor-small``: ``depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf``,
  ``LIFTER_DEPTH_ANYTHING_METRIC_INDOOR``; metric depth in metres
- ``vggt``: ``facebook/VGGT-1B`` (needs the ``vggt`` package), ``LIFTER_VGGT``; relative (scene-normalised depth)

Requirements: ``pip install -r requirements-depth.txt`` (``transformers``; VGGT is not on PyPI: install it from
its repository, https://github.com/facebookresearch/vggt, to enable the ``vggt`` network). Weights are never
downloaded here: they must already be in the Hugging Face cache (``huggingface-cli download <model id>``
elsewhere, then copy the cache) or in the folder named by the env var (a ``save_pretrained`` folder:
``config.json`` + ``model.safetensors``). Loading uses ``local_files_only=True``. Anything missing raises
:class:`DepthUnavailable` with a message saying what to install or where to put the weights.

Pixel mapping. Each network sees a resized (and, for VGGT, cropped or padded) copy of the image. With pixel
centres at integer coordinates and resizing by the half-pixel-centre rule (OpenCV, ``torch`` with
``align_corners=False``), an image pixel ``x`` lands at ``x_net = (x + 0.5) * s_x - 0.5 + o_x`` (``s_x`` =
resized width / image width, ``o_x`` = pad left, or minus the crop left), likewise for y
(:class:`PixelMapping`). The network's output map is resampled back to every image pixel through this mapping
(bilinear), so ``DepthEstimate.depth[j, i]`` is the prediction at image pixel ``(i, j)``; image pixels that the
network never saw (cropped away) are NaN. Relative Depth Anything models predict affine-invariant *disparity*:
the map is ``1 / disparity`` (NaN where disparity <= 0), a depth up to scale (and, strictly, up to the
disparity's unknown shift), flagged ``relative=True``.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

REQUIREMENTS_HINT = "pip install -r requirements-depth.txt"


class DepthUnavailable(RuntimeError):
    """A depth network cannot run here: its package or its weights are missing (the message says which)."""


@dataclass
class DepthEstimate:
    """A predicted depth map: ``depth (H, W)`` float32 in the image's pixel grid (NaN: no prediction),
    ``name`` of the network, ``relative`` True when the depth is known only up to scale."""

    depth: np.ndarray
    name: str
    relative: bool


@dataclass(frozen=True)
class NetworkInput:
    """How a network's input is made from an image."""

    size: int = 518                                  # target side, px
    multiple: int = 14                               # sides rounded to a multiple of the ViT patch
    mode: str = "lower_bound"                        # lower_bound (Depth Anything), crop or pad (VGGT)
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)   # after scaling to [0, 1]
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    pad_value: float = 1.0                           # pad colour in [0, 1] (VGGT pads white)


@dataclass(frozen=True)
class PixelMapping:
    """Image pixel -> network input pixel: ``x_net = (x + 0.5) * scale_x - 0.5 + offset_x`` (same for y).

    ``resized`` is the image's size after resizing ``(W', H')``; ``input_size`` the network input ``(W_in,
    H_in)`` after cropping (negative offsets) or padding (positive offsets).
    """

    scale_x: float
    scale_y: float
    offset_x: float
    offset_y: float
    resized: tuple[int, int]
    input_size: tuple[int, int]

    def to_network(self, points: np.ndarray) -> np.ndarray:
        """``(..., 2)`` image px -> network input px."""
        p = np.asarray(points, dtype=np.float64)
        return np.stack([(p[..., 0] + 0.5) * self.scale_x - 0.5 + self.offset_x,
                         (p[..., 1] + 0.5) * self.scale_y - 0.5 + self.offset_y], -1)

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """``(..., 2)`` network input px -> image px (the inverse of :meth:`to_network`)."""
        p = np.asarray(points, dtype=np.float64)
        return np.stack([(p[..., 0] - self.offset_x + 0.5) / self.scale_x - 0.5,
                         (p[..., 1] - self.offset_y + 0.5) / self.scale_y - 0.5], -1)


def _round_multiple(x: float, m: int, at_least: int = 0) -> int:
    r = int(round(x / m)) * m
    if r < at_least:
        r = int(np.ceil(at_least / m)) * m
    return max(r, m)


def input_mapping(width: int, height: int, cfg: NetworkInput) -> PixelMapping:
    """The pixel mapping of an image ``width x height`` into the network input described by ``cfg``.

    - ``lower_bound`` (Depth Anything V2's own transform): scale so that both sides reach ``size``, keep the
      aspect ratio, each side rounded to a multiple of ``multiple`` (at least ``size``); no crop or pad.
    - ``crop`` (VGGT's default): width -> ``size``, height scaled alike and rounded to a multiple; a height above
      ``size`` is centre-cropped to ``size``.
    - ``pad`` (VGGT's other mode): the longer side -> ``size``, the other scaled alike and rounded to a
      multiple, then centred on a ``size`` x ``size`` canvas.
    """
    if width < 1 or height < 1:
        raise ValueError(f"image must be at least 1 x 1 px, got {width} x {height}")
    m, s = cfg.multiple, cfg.size
    if cfg.mode == "lower_bound":
        k = max(s / width, s / height)
        w2, h2 = _round_multiple(width * k, m, s), _round_multiple(height * k, m, s)
        return PixelMapping(w2 / width, h2 / height, 0.0, 0.0, (w2, h2), (w2, h2))
    if cfg.mode == "crop":
        w2, h2 = s, _round_multiple(height * s / width, m)
        top = (h2 - s) // 2 if h2 > s else 0
        return PixelMapping(w2 / width, h2 / height, 0.0, -float(top), (w2, h2), (w2, min(h2, s)))
    if cfg.mode == "pad":
        if width >= height:
            w2, h2 = s, _round_multiple(height * s / width, m)
        else:
            w2, h2 = _round_multiple(width * s / height, m), s
        left, top = (s - w2) // 2, (s - h2) // 2
        return PixelMapping(w2 / width, h2 / height, float(left), float(top), (w2, h2), (s, s))
    raise ValueError(f"unknown input mode {cfg.mode!r}; use lower_bound, crop or pad")


def preprocess(image: np.ndarray, cfg: NetworkInput) -> tuple[np.ndarray, PixelMapping]:
    """``image (H, W, 3)`` uint8 RGB -> network input ``(3, H_in, W_in)`` float32 (normalised) and its mapping."""
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got shape {img.shape} dtype {img.dtype}")
    h, w = img.shape[:2]
    mp = input_mapping(w, h, cfg)
    x = cv2.resize(img.astype(np.float32) / 255.0, mp.resized, interpolation=cv2.INTER_CUBIC)
    x = np.clip(x, 0.0, 1.0)
    win, hin = mp.input_size
    canvas = np.full((hin, win, 3), cfg.pad_value, dtype=np.float32)
    ox, oy = int(mp.offset_x), int(mp.offset_y)
    # Paste the resized image at (ox, oy) (negative offsets crop).
    sx0, sy0 = max(-ox, 0), max(-oy, 0)
    dx0, dy0 = max(ox, 0), max(oy, 0)
    cw, ch = min(mp.resized[0] - sx0, win - dx0), min(mp.resized[1] - sy0, hin - dy0)
    canvas[dy0:dy0 + ch, dx0:dx0 + cw] = x[sy0:sy0 + ch, sx0:sx0 + cw]
    canvas = (canvas - np.asarray(cfg.mean, np.float32)) / np.asarray(cfg.std, np.float32)
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)), mp


def to_image_grid(output: np.ndarray, mapping: PixelMapping, width: int, height: int) -> np.ndarray:
    """Resample a network output map ``(H_out, W_out)`` to the image grid ``(height, width)`` float32.

    The output may have another resolution than the network input (it is then taken to cover the same
    extent). Image pixels that map outside the network input are NaN.
    """
    out = np.asarray(output, dtype=np.float32)
    hout, wout = out.shape
    win, hin = mapping.input_size
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    net = mapping.to_network(np.stack([xs, ys], -1))                          # (H, W, 2) input px
    mx = (net[..., 0] + 0.5) * (wout / win) - 0.5
    my = (net[..., 1] + 0.5) * (hout / hin) - 0.5
    res = cv2.remap(out, mx.astype(np.float32), my.astype(np.float32), interpolation=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    inside = (mx >= -0.5) & (mx <= wout - 0.5) & (my >= -0.5) & (my <= hout - 0.5)
    return np.where(inside, res, np.nan).astype(np.float32)


@dataclass(frozen=True)
class NetworkSpec:
    """A registered depth network: Hugging Face id, env var of a local folder, family, output kind."""

    model_id: str
    env_var: str
    family: str            # depth-anything or vggt
    relative: bool
    inputs: NetworkInput


NETWORKS: dict[str, NetworkSpec] = {
    "depth-anything-v2-small": NetworkSpec("depth-anything/Depth-Anything-V2-Small-hf", "LIFTER_DEPTH_ANYTHING",
                                           "depth-anything", True, NetworkInput()),
    "depth-anything-v2-base": NetworkSpec("depth-anything/Depth-Anything-V2-Base-hf", "LIFTER_DEPTH_ANYTHING_BASE",
                                          "depth-anything", True, NetworkInput()),
    "depth-anything-v2-large": NetworkSpec("depth-anything/Depth-Anything-V2-Large-hf",
                                           "LIFTER_DEPTH_ANYTHING_LARGE", "depth-anything", True, NetworkInput()),
    "depth-anything-v2-metric-indoor-small": NetworkSpec("depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf",
                                                         "LIFTER_DEPTH_ANYTHING_METRIC_INDOOR", "depth-anything",
                                                         False, NetworkInput()),
    "vggt": NetworkSpec("facebook/VGGT-1B", "LIFTER_VGGT", "vggt", True,
                        NetworkInput(mode="crop", mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))),
}


def _spec(network: str) -> NetworkSpec:
    if network not in NETWORKS:
        raise ValueError(f"unknown depth network {network!r}; known: {', '.join(NETWORKS)}")
    return NETWORKS[network]


def _package_missing(spec: NetworkSpec) -> str | None:
    """Why the network's Python package cannot be imported, or None."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        return f"the depth networks need torch and transformers: {REQUIREMENTS_HINT}"
    if spec.family == "vggt" and importlib.util.find_spec("vggt") is None:
        return ("VGGT needs its `vggt` package, which is not on PyPI: pip install "
                "git+https://github.com/facebookresearch/vggt (then put its weights in place, see below)")
    return None


def _weights_folder(spec: NetworkSpec) -> Path | None:
    """A local folder with the network's ``config.json`` (env var first, then the Hugging Face cache), or None.

    Raises:
        DepthUnavailable: the env var names a folder without ``config.json``.
    """
    env = os.environ.get(spec.env_var)
    if env:
        folder = Path(env)
        if not (folder / "config.json").is_file():
            raise DepthUnavailable(f"{spec.env_var}={env} has no config.json: it must be a folder made by "
                                   f"save_pretrained (or a snapshot of {spec.model_id} from the Hugging Face hub)")
        return folder
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(spec.model_id, "config.json")
    return Path(found).parent if isinstance(found, str) else None


def _unavailable_message(network: str, spec: NetworkSpec) -> str:
    return (f"depth network {network!r} is not available: its weights ({spec.model_id}) are not in the Hugging "
            f"Face cache and {spec.env_var} is not set. This machine cannot download them. Elsewhere: "
            f"`huggingface-cli download {spec.model_id}` and copy the cache, or save the model to a folder and "
            f"set {spec.env_var}=/path/to/that/folder. Python packages: {REQUIREMENTS_HINT}.")


def available_depth_networks() -> list[str]:
    """The registered networks whose package and weights are present here (nothing is loaded or downloaded)."""
    names = []
    for name, spec in NETWORKS.items():
        if _package_missing(spec) is not None:
            continue
        try:
            if _weights_folder(spec) is not None:
                names.append(name)
        except DepthUnavailable:
            continue
    return names


class DepthNetwork:
    """A loaded depth network: ``predict(image) -> DepthEstimate`` in the image's pixel grid.

    ``model`` is a torch module: for ``depth-anything`` it is called as ``model(pixel_values=x)`` and returns an
    object with ``predicted_depth (1, H_out, W_out)``; for ``vggt`` as ``model(x)`` returning a dict with
    ``depth (1, 1, H_out, W_out, 1)``. ``x`` is ``(1, 3, H_in, W_in)`` float32 (see :func:`preprocess`).
    """

    def __init__(self, model, name: str, family: str, relative: bool, inputs: NetworkInput,
                 disparity: bool | None = None):
        self.model = model
        self.name = name
        self.family = family
        self.relative = relative
        self.inputs = inputs
        # Relative Depth Anything models predict disparity; metric ones and VGGT predict depth.
        self.disparity = (family == "depth-anything" and relative) if disparity is None else disparity

    def raw(self, image: np.ndarray) -> tuple[np.ndarray, PixelMapping]:
        """The network's raw output map ``(H_out, W_out)`` float32 and the image's pixel mapping."""
        import torch

        x, mapping = preprocess(image, self.inputs)
        param = next(iter(self.model.parameters()), None) if hasattr(self.model, "parameters") else None
        device = param.device if param is not None else torch.device("cpu")
        t = torch.from_numpy(x)[None].to(device)
        with torch.inference_mode():
            if self.family == "vggt":
                out = self.model(t)["depth"]                                 # (1, 1, H_out, W_out, 1)
                out = out.reshape(out.shape[-3], out.shape[-2])
            else:
                out = self.model(pixel_values=t).predicted_depth
                out = out.reshape(out.shape[-2], out.shape[-1])
        return out.float().cpu().numpy(), mapping

    def predict(self, image: np.ndarray) -> DepthEstimate:
        """Depth ``(H, W)`` float32 for ``image (H, W, 3)`` uint8 RGB, in its pixel grid (NaN: no prediction)."""
        h, w = np.asarray(image).shape[:2]
        out, mapping = self.raw(image)
        grid = to_image_grid(out, mapping, w, h)
        if self.disparity:
            with np.errstate(divide="ignore", invalid="ignore"):
                grid = np.where(grid > 0, 1.0 / grid, np.nan).astype(np.float32)
        grid = np.where(np.isfinite(grid) & (grid > 0), grid, np.nan).astype(np.float32)
        return DepthEstimate(grid, self.name, self.relative)


@lru_cache(maxsize=2)
def load_depth_network(network: str = "depth-anything-v2-small", device: str | None = None) -> DepthNetwork:
    """Load a registered network from local files only (cached: one load per process and name).

    Raises:
        ValueError: an unknown name.
        DepthUnavailable: its package or weights are missing (the message says what to do).
    """
    spec = _spec(network)
    missing = _package_missing(spec)
    if missing:
        raise DepthUnavailable(f"depth network {network!r} is not available: {missing}")
    folder = _weights_folder(spec)
    if folder is None:
        raise DepthUnavailable(_unavailable_message(network, spec))
    import torch

    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        if spec.family == "vggt":
            from vggt.models.vggt import VGGT

            model = VGGT.from_pretrained(str(folder))
        else:
            from transformers import DepthAnythingForDepthEstimation

            model = DepthAnythingForDepthEstimation.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as e:
        raise DepthUnavailable(f"{_unavailable_message(network, spec)} (loading {folder} failed: {e})") from e
    return DepthNetwork(model.to(dev).eval(), network, spec.family, spec.relative, spec.inputs)


def estimate_depth(image: np.ndarray, network: str = "depth-anything-v2-small") -> DepthEstimate:
    """Predict a depth map for ``image (H, W, 3)`` uint8 RGB with a registered network.

    Returns:
        :class:`DepthEstimate` with ``depth (H, W)`` float32 in the image's pixel grid.
    Raises:
        ValueError: an unknown network name or a bad image.
        DepthUnavailable: the network's package or weights are not installed here (the message says what to
            install, ``pip install -r requirements-depth.txt``, and where the weights must be).
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got shape {img.shape} dtype {img.dtype}")
    return load_depth_network(network).predict(img)
