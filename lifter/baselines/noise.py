"""Noisy depth: the rendered oracle degraded with an error model of monocular depth networks.

:func:`add_depth_noise` turns an oracle depth map into what a depth-from-RGB network of a given accuracy
(AbsRel, the field's headline metric: mean ``|d_pred - d_gt| / d_gt`` after aligning the prediction's scale)
would plausibly predict. Four documented effects, in order:

1. **Backdrop.** A network predicts a depth at every pixel; where the oracle has no surface the noisy map gets
   a backdrop (a wall or floor behind the subject) at ``backdrop_factor`` x the farthest surface depth.
2. **Blur across depth edges.** Networks regress smooth maps: their edges are soft, so thin structures (fingers,
   forearms, the nose) are pulled toward the background. Modelled by a Gaussian blur of the backdrop-filled depth
   with ``sigma = blur_per_absrel * absrel * max(H, W)`` pixels (10 px on a 1000 px image at AbsRel 10 %, 5 px
   at 5 %, 1 px at 1 %), so a more accurate network also has sharper edges.
3. **Multiplicative noise at the AbsRel level.** ``d <- d * exp(sigma_n * e)`` with ``e`` a zero-mean,
   unit-variance field: a mix (``smooth_share``) of a smooth field (Gaussian noise on a ``noise_cells`` x
   ``noise_cells`` grid, bicubically upsampled: the low-frequency warps of monocular depth) and white per-pixel
   noise. ``sigma_n = absrel * sqrt(pi / 2)`` makes ``E|exp(sigma_n e) - 1| ~= absrel`` (for a Gaussian,
   ``E|x| = sigma sqrt(2 / pi)``), so this noise alone has the requested level's AbsRel on the surface pixels
   (checked by a test, away from edges); with the blur of step 2 the subject's pixels read higher, most on thin
   parts (``scripts/depth_noise_absrel.py``: 4.6 % on bodies at the 3 % level, docs/depth-baseline.md).
4. **Unknown global scale.** The whole map is multiplied by a log-uniform factor in ``scale_range``: relative
   networks know depth only up to scale. (The benchmark's similarity alignment removes a global scale, so this
   changes no score; it is there so that the maps look like what a network gives.)

``absrel == 0`` returns the oracle unchanged (``inf`` where no surface). For ``absrel > 0`` the map is finite
and > 0 everywhere. Typical published AbsRel figures for orientation: Depth Anything V2 ~ 4-5 % on NYUv2 and
KITTI (zero-shot, affine-aligned disparity), VGGT ~ 3-6 % on multi-view benchmarks; on thin, articulated
subjects (hands, limbs) errors are larger than these scene averages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class DepthNoiseConfig:
    """Parameters of the depth error model (see the module docstring)."""

    backdrop_factor: float = 1.5                    # backdrop depth / farthest surface depth
    blur_per_absrel: float = 0.1                    # edge blur sigma = this * absrel * max(H, W) px
    noise_cells: int = 8                            # grid of the smooth (low-frequency) noise field
    smooth_share: float = 0.7                       # variance share of the smooth field (rest: white)
    scale_range: tuple[float, float] = (0.5, 2.0)   # global scale factor, log-uniform


def _smooth_field(h: int, w: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-variance smooth random field ``(h, w)`` float32 (bicubic upsampling of a coarse grid)."""
    coarse = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    std = float(field.std())
    return (field - field.mean()) / (std if std > 0 else 1.0)


def add_backdrop(depth: np.ndarray, factor: float = DepthNoiseConfig.backdrop_factor) -> np.ndarray:
    """``depth (H, W)`` with every no-surface pixel set to a backdrop at ``factor`` x the farthest surface depth
    (1.0 where there is no surface at all): step 1 of the error model, alone. Returns float32, finite, > 0."""
    d = np.asarray(depth, dtype=np.float32)
    surface = np.isfinite(d) & (d > 0)
    backdrop = factor * float(d[surface].max()) if surface.any() else 1.0
    return np.where(surface, d, np.float32(backdrop)).astype(np.float32)


def add_depth_noise(depth: np.ndarray, absrel: float, rng: np.random.Generator,
                    config: DepthNoiseConfig = DepthNoiseConfig()) -> np.ndarray:
    """The oracle ``depth`` degraded to a network of accuracy ``absrel`` (the documented error model).

    Args:
        depth: ``(H, W)`` camera z (> 0; ``inf``/NaN/<= 0 = no surface).
        absrel: noise level as a fraction (0.03 = 3 % AbsRel), ``0 <= absrel < 1``.
        rng: the randomness (noise field and global scale).
        config: the model's parameters.
    Returns:
        ``(H, W)`` float32: the input unchanged for ``absrel == 0``; otherwise finite and > 0 everywhere.
    Raises:
        ValueError: ``depth`` not 2D or empty, or ``absrel`` outside ``[0, 1)``.
    """
    d = np.asarray(depth, dtype=np.float32)
    if d.ndim != 2 or d.size == 0:
        raise ValueError(f"depth must be a non-empty (H, W) map, got shape {d.shape}")
    if not (0.0 <= float(absrel) < 1.0):
        raise ValueError(f"absrel must be a fraction in [0, 1) (0.03 = 3 %), got {absrel!r}")
    if absrel == 0.0:
        return d.copy()
    h, w = d.shape
    filled = add_backdrop(d, config.backdrop_factor)
    sigma_blur = config.blur_per_absrel * absrel * max(h, w)
    if sigma_blur >= 0.3:                                   # below ~0.3 px a Gaussian kernel is the identity
        filled = cv2.GaussianBlur(filled, (0, 0), sigmaX=sigma_blur, sigmaY=sigma_blur,
                                  borderType=cv2.BORDER_REPLICATE)
    e = (math.sqrt(config.smooth_share) * _smooth_field(h, w, config.noise_cells, rng)
         + math.sqrt(1.0 - config.smooth_share) * rng.standard_normal((h, w), dtype=np.float32))
    sigma_n = absrel * math.sqrt(math.pi / 2.0)
    lo, hi = np.log(config.scale_range)
    scale = math.exp(rng.uniform(lo, hi))
    return (filled * np.exp(np.float32(sigma_n) * e) * np.float32(scale)).astype(np.float32)


def surface_absrel(oracle: np.ndarray, noisy: np.ndarray, where: np.ndarray | None = None) -> float:
    """AbsRel of the depth map ``noisy (H, W)`` against ``oracle (H, W)`` (inf where no surface): the mean
    ``|k d_noisy - d| / d`` over the oracle's surface pixels (``where``, a bool mask, only those), ``k`` the median
    of ``d / d_noisy`` there (the scale aligned, as AbsRel is measured)."""
    surface = np.isfinite(oracle) & (oracle > 0)
    if where is not None:
        surface &= where
    d, n = oracle[surface].astype(np.float64), noisy[surface].astype(np.float64)
    k = np.median(d / n)
    return float(np.mean(np.abs(k * n - d) / d))
