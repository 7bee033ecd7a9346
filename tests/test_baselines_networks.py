"""Depth-network plumbing: pixel mapping through resize/crop/pad, a tiny random Depth Anything V2, and the
messages when packages or weights are missing. Nothing is downloaded: models are built from configs here."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from lifter.baselines import DepthUnavailable, available_depth_networks, estimate_depth
from lifter.baselines import networks as nets
from lifter.baselines.networks import DepthNetwork, NetworkInput, input_mapping, preprocess, to_image_grid


def test_import_loads_no_heavy_packages() -> None:
    code = ("import sys, lifter.baselines, lifter.baselines.benchmark; "
            "print(any(m in sys.modules for m in ('torch', 'transformers', 'plotly')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("mode, size, expect_resized, expect_input, offset", [
    ("lower_bound", (640, 480), (686, 518), (686, 518), (0, 0)),     # shorter side -> 518, x14 multiples
    ("lower_bound", (480, 640), (518, 686), (518, 686), (0, 0)),
    ("crop", (480, 640), (518, 686), (518, 518), (0, -84)),          # VGGT: width 518, height cropped
    ("crop", (640, 480), (518, 392), (518, 392), (0, 0)),
    ("pad", (480, 640), (392, 518), (518, 518), (63, 0)),            # VGGT pad: longest side 518, centred
])
def test_input_mapping_sizes_and_offsets(mode, size, expect_resized, expect_input, offset) -> None:
    mp = input_mapping(*size, NetworkInput(mode=mode))
    assert mp.resized == expect_resized and mp.input_size == expect_input
    assert (mp.offset_x, mp.offset_y) == offset
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, min(size), (20, 2))
    np.testing.assert_allclose(mp.to_image(mp.to_network(pts)), pts, atol=1e-9)
    # Half-pixel rule: the image's outer edges (-0.5, W - 0.5) land on the resized image's outer edges.
    edges = mp.to_network(np.array([[-0.5, -0.5], [size[0] - 0.5, size[1] - 0.5]]))
    np.testing.assert_allclose(edges[0], np.array(offset) - 0.5, atol=1e-9)
    np.testing.assert_allclose(edges[1], np.array(expect_resized) + np.array(offset) - 0.5, atol=1e-9)


class ChannelEcho:
    """A stand-in network whose 'depth' is the red channel of its normalised input, plus 2 (so > 0)."""

    def __init__(self, vggt: bool = False):
        self.vggt = vggt

    def parameters(self):
        return iter(())

    def __call__(self, x=None, pixel_values=None):
        t = pixel_values if pixel_values is not None else x
        out = t[:, 0] + 2.0                                            # (1, H_in, W_in)
        if self.vggt:
            return {"depth": out[:, None, :, :, None]}
        return SimpleNamespace(predicted_depth=out)


def smooth_image(w: int, h: int) -> np.ndarray:
    xs, ys = np.meshgrid(np.arange(w), np.arange(h))
    red = 40 + 170 * (0.6 * xs / w + 0.4 * ys / h)                    # a smooth ramp: interpolation is exact-ish
    img = np.stack([red, np.full_like(red, 90), 255 - red], -1)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("mode, size", [("lower_bound", (300, 200)), ("crop", (240, 400)), ("pad", (240, 400)),
                                        ("lower_bound", (517, 519))])
def test_output_maps_back_to_the_image_pixels(mode: str, size: tuple[int, int]) -> None:
    torch = pytest.importorskip("torch", reason="the depth-network plumbing needs torch")
    del torch
    cfg = NetworkInput(mode=mode, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    img = smooth_image(*size)
    net = DepthNetwork(ChannelEcho(vggt=mode != "lower_bound"), "echo", "vggt" if mode != "lower_bound"
                       else "depth-anything", relative=True, inputs=cfg, disparity=False)
    est = net.predict(img)
    assert est.depth.shape == img.shape[:2] and est.depth.dtype == np.float32
    expected = img[..., 0] / 255.0 + 2.0
    seen = np.isfinite(est.depth)
    if mode == "crop":
        # The top and bottom rows were cropped away: no prediction there (NaN), never a made-up value.
        mp = input_mapping(*size, cfg)
        rows = mp.to_network(np.stack([np.zeros(size[1]), np.arange(size[1])], -1))[:, 1]
        inside = (rows >= -0.5) & (rows <= mp.input_size[1] - 0.5)
        assert not inside.all() and (seen.all(1) == inside).all()
    else:
        assert seen.all()
    # Landmark pixels read the value of their own pixel (up to resampling of a smooth ramp).
    err = np.abs(est.depth[seen] - expected[seen])
    assert err.max() < 0.02 and np.median(err) < 0.005


def tiny_depth_anything():
    """A randomly initialised Depth Anything (V2 architecture: DINOv2 backbone + DPT head), a few k params."""
    transformers = pytest.importorskip("transformers", reason="pip install -r requirements-depth.txt")
    import torch

    backbone = transformers.Dinov2Config(hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                                         intermediate_size=64, patch_size=14, image_size=56,
                                         out_features=["stage1", "stage2", "stage3", "stage4"],
                                         reshape_hidden_states=False)
    cfg = transformers.DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=32,
                                           neck_hidden_sizes=[8, 16, 32, 32], fusion_hidden_size=16,
                                           head_hidden_size=8, depth_estimation_type="relative")
    torch.manual_seed(0)
    return transformers.DepthAnythingForDepthEstimation(cfg).eval()


@pytest.fixture
def no_cached_weights(monkeypatch):
    """Isolate from the machine: no env vars, no Hugging Face cache hits, no network."""
    for spec in nets.NETWORKS.values():
        monkeypatch.delenv(spec.env_var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(nets, "_weights_folder", lambda spec, real=nets._weights_folder: (
        real(spec) if spec.env_var in __import__("os").environ else None))
    nets.load_depth_network.cache_clear()
    yield
    nets.load_depth_network.cache_clear()


def test_tiny_random_depth_anything_through_estimate_depth(tmp_path, monkeypatch, no_cached_weights) -> None:
    model = tiny_depth_anything()
    model.save_pretrained(tmp_path / "tiny")
    monkeypatch.setenv("LIFTER_DEPTH_ANYTHING", str(tmp_path / "tiny"))
    assert "depth-anything-v2-small" in available_depth_networks()
    # Small input size to keep the test fast; the real network uses 518.
    monkeypatch.setitem(nets.NETWORKS, "depth-anything-v2-small",
                        nets.NETWORKS["depth-anything-v2-small"].__class__(
                            **{**nets.NETWORKS["depth-anything-v2-small"].__dict__,
                               "inputs": NetworkInput(size=70)}))
    img = smooth_image(120, 90)
    est = estimate_depth(img)
    assert est.name == "depth-anything-v2-small" and est.relative
    assert est.depth.shape == (90, 120) and est.depth.dtype == np.float32
    ok = np.isfinite(est.depth)
    assert (est.depth[ok] > 0).all()                                   # NaN where disparity <= 0, never <= 0
    # The raw network output has the preprocessed input's size; the estimate is that map resampled.
    raw, mapping = nets.load_depth_network("depth-anything-v2-small").raw(img)
    assert raw.shape == mapping.input_size[::-1]
    grid = to_image_grid(raw, mapping, 120, 90)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(est.depth[ok], 1.0 / grid[ok], rtol=1e-5)


def test_missing_weights_raise_depth_unavailable(no_cached_weights) -> None:
    assert available_depth_networks() == []
    with pytest.raises(DepthUnavailable) as e:
        estimate_depth(np.zeros((32, 32, 3), np.uint8))
    msg = str(e.value)
    assert "requirements-depth.txt" in msg and "depth-anything/Depth-Anything-V2-Small-hf" in msg
    assert "LIFTER_DEPTH_ANYTHING" in msg


def test_bad_env_folder_and_unknown_network(tmp_path, monkeypatch, no_cached_weights) -> None:
    monkeypatch.setenv("LIFTER_DEPTH_ANYTHING", str(tmp_path))
    with pytest.raises(DepthUnavailable, match="no config.json"):
        estimate_depth(np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="unknown depth network"):
        estimate_depth(np.zeros((32, 32, 3), np.uint8), network="midas")
    with pytest.raises(ValueError, match="uint8"):
        estimate_depth(np.zeros((32, 32, 3), np.float32))


def test_vggt_needs_its_package(monkeypatch, no_cached_weights) -> None:
    real = nets.importlib.util.find_spec
    monkeypatch.setattr(nets.importlib.util, "find_spec", lambda name: None if name == "vggt" else real(name))
    with pytest.raises(DepthUnavailable, match="not on PyPI"):
        estimate_depth(np.zeros((32, 32, 3), np.uint8), network="vggt")


def test_preprocess_normalises_and_pads() -> None:
    img = np.full((40, 80, 3), 255, np.uint8)
    x, mp = preprocess(img, NetworkInput(size=56, mode="pad", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
                                         pad_value=0.0))
    assert x.shape == (3, 56, 56) and mp.resized == (56, 28)
    assert np.allclose(x[:, 14:42], 1.0, atol=1e-5) and np.allclose(x[:, :14], -1.0)
