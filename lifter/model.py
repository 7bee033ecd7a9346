"""The lifting network: a correspondence-preserving transformer over landmark tokens.

One token per landmark. A token's input is its normalised 2D position (zero when missing) and a visibility
flag. Its *identity* is a fixed sinusoidal (Fourier) code of the landmark index plus a learned category
embedding (``identity_code="laplacian+fourier"`` appends a graph-Laplacian code of the category's skeleton, the
issue's alternative), projected per layer and **added to the queries and keys of every attention layer**
(``identity="every_layer"``) or only to the input tokens (``identity="input_only"``, the ablation). Missing
landmarks are never attended to (key mask), so their 2D values cannot influence the other outputs.

The output is a depth-only lift in the camera frame: for a visible landmark, ``x, y`` are its normalised input
and the network predicts ``z``; for a missing one it predicts ``x, y, z``. Normalisation (centre on the visible
landmarks' centroid, divide by their RMS radius) happens inside :meth:`Lifter.forward`, which makes the model
invariant to the translation and scale of its 2D input by construction.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lifter.geometry import normalise_2d
from lifter.skeletons import get_category

IDENTITY_PLACES = ("every_layer", "input_only")   # LifterConfig.identity
IDENTITY_CODES = ("fourier", "laplacian+fourier")   # LifterConfig.identity_code


@dataclass
class LifterConfig:
    """Hyper-parameters of :class:`Lifter` (stored with the weights)."""

    categories: dict[str, int] = field(default_factory=dict)  # category name -> landmark count, in a fixed order
    dim: int = 128                # token width D
    depth: int = 4                # attention blocks
    heads: int = 4                # attention heads (dim % heads == 0)
    mlp_ratio: int = 4            # MLP hidden width = mlp_ratio * dim
    identity: str = "every_layer"  # "every_layer" (2D-LFM) or "input_only" (ablation)
    code_dim: int = 64            # size of the fixed sinusoidal landmark-index code
    identity_code: str = "fourier"  # "fourier" or "laplacian+fourier" (skeleton Laplacian code appended)
    laplacian_dim: int = 16       # size of the Laplacian code (with identity_code="laplacian+fourier")
    dropout: float = 0.0
    elevation_head: bool = False  # also predict the camera's elevation (training's learned-elevation views only)

    def to_dict(self) -> dict:
        return asdict(self)

    def check(self) -> None:
        """Raise ValueError naming the first setting a network cannot be built with."""
        if self.identity not in IDENTITY_PLACES:
            raise ValueError(f"identity must be one of {', '.join(IDENTITY_PLACES)}, got {self.identity!r}")
        if self.identity_code not in IDENTITY_CODES:
            raise ValueError(f"identity_code must be one of {', '.join(IDENTITY_CODES)}, got {self.identity_code!r}")
        for name in ("dim", "depth", "heads", "mlp_ratio", "code_dim", "laplacian_dim"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {getattr(self, name)!r}")
        if self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be a multiple of heads ({self.heads})")
        if self.code_dim % 2:
            raise ValueError(f"code_dim must be even (sine and cosine pairs), got {self.code_dim}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


def sinusoidal_code(n: int, dim: int) -> torch.Tensor:
    """Fixed Fourier code ``(n, dim)`` of landmark indices 0..n-1 (the transformer position code)."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    code = torch.zeros(n, dim)
    code[:, 0::2] = torch.sin(pos * freq)
    code[:, 1::2] = torch.cos(pos * freq)
    return code


def canonical_eigenbasis(w: np.ndarray, V: np.ndarray, tol: float = 1e-6, count: int | None = None
                         ) -> np.ndarray:
    """A basis ``(n, m)`` of ``V``'s eigenspaces that does not depend on which eigenvectors ``V`` holds.

    ``w (m,)`` ascending eigenvalues, ``V (n, m)`` orthonormal eigenvectors of a symmetric matrix (``numpy.linalg.
    eigh``, or a slice of whole eigenspaces of it); with ``count``, only the eigenspaces up to the one that brings
    the basis to ``count`` columns are made (the result may have more columns, never fewer unless ``m`` is).
    Eigenvectors are defined only up to sign, and up to any rotation within an eigenvalue shared by several of them
    (a body's left and right limbs give such pairs). Each eigenspace (eigenvalues within ``tol``) is
    represented by its projector, which is unique; its basis is the projector's columns taken in index order and
    Gram-Schmidt orthonormalised. The result is a function of the matrix alone.
    """
    n, m = V.shape
    basis: list[np.ndarray] = []
    start = 0
    while start < m and (count is None or len(basis) < count):
        stop = start + 1
        while stop < m and w[stop] - w[start] < tol:
            stop += 1
        P = V[:, start:stop] @ V[:, start:stop].T
        group: list[np.ndarray] = []
        for i in range(n):
            u = P[:, i] - sum((b @ P[:, i]) * b for b in group)
            if np.linalg.norm(u) > tol:
                group.append(u / np.linalg.norm(u))
            if len(group) == stop - start:
                break
        basis += group
        start = stop
    return np.stack(basis, 1)


def skeleton_laplacian(n: int, edges: tuple[tuple[int, int], ...]) -> np.ndarray:
    """The combinatorial Laplacian ``L = D - A`` ``(n, n)`` of the graph of ``edges`` over ``n`` landmarks."""
    A = np.zeros((n, n))
    for i, j in edges:
        A[i, j] = A[j, i] = 1.0
    return np.diag(A.sum(1)) - A


def laplacian_code(n: int, edges: tuple[tuple[int, int], ...], dim: int) -> torch.Tensor:
    """Fixed graph-Laplacian code ``(n, dim)`` of a skeleton: its ``dim`` lowest non-trivial eigenvectors, times
    sqrt(n).

    The eigenvectors of the combinatorial Laplacian ``L = D - A`` of the skeleton graph (``edges`` over ``n``
    landmarks) with non-zero eigenvalue, in ascending order (the zero eigenvalue's are constant on each connected
    part of the graph), in :func:`canonical_eigenbasis` form, so that the code is the same on any machine;
    landmarks close on the skeleton get similar codes. Columns past the available eigenvectors are zero. Scaled by
    sqrt(n) so that entries are of order one.
    """
    w, V = np.linalg.eigh(skeleton_laplacian(n, edges))
    z = int((w < 1e-6).sum())                                       # skip the zero eigenvalue's eigenspace
    basis = canonical_eigenbasis(w[z:], V[:, z:], count=dim)
    code = np.zeros((n, dim))
    k = min(dim, basis.shape[1])
    code[:, :k] = basis[:, :k] * math.sqrt(n)
    return torch.tensor(code, dtype=torch.float32)


BF16_ATTENTIONS = ("matmul", "fp32")   # attention under bfloat16 autocast on the CPU (Lifter.bf16_attention)
PRECISIONS = ("fp32", "bf16")          # a lifter's blocks in training (TrainConfig.precision, the teacher's too)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, bf16: str = "matmul"
              ) -> torch.Tensor:
    """Scaled dot-product attention of ``q, k, v (B, H, N, D/H)`` with the bool key ``mask (B, 1, 1, N)``.

    Given bfloat16 inputs on the CPU (the blocks under ``Lifter.bf16``), ``bf16`` chooses how: "matmul" runs
    :func:`cpu_bf16_attention`; "fp32" runs PyTorch's fused kernel in float32 on the rounded values (every bf16
    run recorded before the choice existed). Its CPU kernel is several times slower in bfloat16 than in float32
    at these sizes (its backward about 8x, measured with torch 2.13 on a 2-core Sapphire Rapids). Elsewhere the
    fused kernel runs in the inputs' dtype.
    """
    if q.dtype == torch.bfloat16 and q.device.type == "cpu":
        if bf16 == "matmul":
            return cpu_bf16_attention(q, k, v, mask)
        if bf16 != "fp32":
            raise ValueError(f"bf16 attention must be one of {BF16_ATTENTIONS}, got {bf16!r}")
        with torch.autocast("cpu", enabled=False):
            return F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=mask)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def cpu_bf16_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Attention written out as batched matrix products in ``q``'s dtype (bfloat16), with the same inputs, mask
    and output as :func:`torch.nn.functional.scaled_dot_product_attention`: ``q, k, v (B, H, N, E)``, bool key
    ``mask (B, 1, 1, N)`` (True: may be attended; each row needs one) -> ``(B, H, N, E)``.

    The scores ``q k^T / sqrt(E)`` come out of the product rounded to bfloat16 (accumulated in float32), the
    softmax runs on them in bfloat16. On a 2-core AMD EPYC (Zen 4, AVX-512 bfloat16) its forward and backward
    took about half the time of the fused kernel in float32 at the network's sizes (N = 17 to 128, E = 32).
    """
    B, H, N, E = q.shape
    with torch.autocast(q.device.type, enabled=False):
        bias = torch.zeros(mask.shape, dtype=q.dtype, device=q.device).masked_fill(~mask, float("-inf"))
        scores = torch.baddbmm(bias.expand(B, H, 1, N).reshape(B * H, 1, N),          # broadcast over queries
                               (q * E ** -0.5).reshape(B * H, N, E), k.reshape(B * H, N, E).transpose(1, 2))
        out = torch.bmm(torch.softmax(scores, dim=-1), v.reshape(B * H, N, E))   # (B * H, N, E)
    return out.view(B, H, N, E)


class Block(nn.Module):
    """Pre-norm transformer block whose queries and keys take the landmark identity ``ident`` each time."""

    def __init__(self, cfg: LifterConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.norm1 = nn.LayerNorm(cfg.dim)
        self.qk = nn.Linear(cfg.dim, 2 * cfg.dim)
        self.v = nn.Linear(cfg.dim, cfg.dim)
        self.proj = nn.Linear(cfg.dim, cfg.dim)
        self.norm2 = nn.LayerNorm(cfg.dim)
        self.mlp = nn.Sequential(nn.Linear(cfg.dim, cfg.mlp_ratio * cfg.dim), nn.GELU(),
                                 nn.Linear(cfg.mlp_ratio * cfg.dim, cfg.dim))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, h: torch.Tensor, ident: torch.Tensor | None, key_mask: torch.Tensor,
                bf16_attention: str = "matmul") -> torch.Tensor:
        """``h (B, N, D)``, ``ident (1, N, D)`` or None, ``key_mask (B, N)`` bool (True: may be attended);
        ``bf16_attention``: :func:`attention`'s ``bf16``."""
        B, N, D = h.shape
        x = self.norm1(h)
        q, k = self.qk(x if ident is None else x + ident).chunk(2, dim=-1)  # (B, N, D) each
        v = self.v(x)
        split = lambda t: t.view(B, N, self.heads, D // self.heads).transpose(1, 2)  # noqa: E731
        att = attention(split(q), split(k), split(v), key_mask[:, None, None, :], bf16_attention)
        h = h + self.drop(self.proj(att.transpose(1, 2).reshape(B, N, D)))
        return h + self.drop(self.mlp(self.norm2(h)))


class Lifter(nn.Module):
    """Lift normalised 2D landmarks of any registered category to 3D (see the module docstring)."""

    def __init__(self, cfg: LifterConfig) -> None:
        super().__init__()
        cfg.check()
        self.cfg = cfg
        # Compute the transformer blocks under bfloat16 autocast (weights, residual stream, output head float32):
        # a training-time option (``TrainConfig.precision``, ``python -m lifter.train --precision bf16``), not a
        # property of the weights; off by default and wherever lifts are read (``load_lifter``, evaluation).
        self.bf16 = False
        self.bf16_attention = "matmul"        # how attention runs there on the CPU (BF16_ATTENTIONS, attention())
        self.category_names = list(cfg.categories)
        max_n = max(cfg.categories.values())
        code = sinusoidal_code(max_n, cfg.code_dim).expand(len(cfg.categories), -1, -1)  # (categories, Nmax, C)
        if cfg.identity_code == "laplacian+fourier":                # append (categories, Nmax, L), zero-padded
            lap = torch.zeros(len(cfg.categories), max_n, cfg.laplacian_dim)
            for c, (name, n) in enumerate(cfg.categories.items()):
                lap[c, :n] = laplacian_code(n, get_category(name).edges, cfg.laplacian_dim)
            code = torch.cat([code, lap], -1)
        self.register_buffer("code", code.contiguous(), persistent=False)  # each category's fixed identity codes
        self.category_embed = nn.Embedding(len(cfg.categories), cfg.dim)
        self.code_proj = nn.Linear(code.shape[-1], cfg.dim)
        self.input_embed = nn.Linear(3, cfg.dim)                    # (x, y, visible)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        n_ident = cfg.depth if cfg.identity == "every_layer" else 0
        self.ident_proj = nn.ModuleList(nn.Linear(cfg.dim, cfg.dim) for _ in range(n_ident))
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, 3)
        if cfg.elevation_head:                  # zero at the start: the views of a run without it, at first
            self.elevation = nn.Linear(cfg.dim, 1)
            nn.init.zeros_(self.elevation.weight)
            nn.init.zeros_(self.elevation.bias)

    def identity(self, category: str, n: int, index: torch.Tensor | None = None) -> torch.Tensor:
        """Landmark identity embeddings ``(1, n, D)`` of ``category``'s landmarks ``index (n,)`` (default 0..n-1)."""
        c = self.category_names.index(category)
        code = self.code[c, :n] if index is None else self.code[c, index]
        return (self.code_proj(code) + self.category_embed.weight[c])[None]

    def lift_normalised(self, p: torch.Tensor, visible: torch.Tensor, category: str,
                        index: torch.Tensor | None = None, return_elevation: bool = False
                        ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Lift normalised 2D ``p (B, N, 2)`` (zero where not visible) to ``(B, N, 3)`` in the same units.

        ``index (N,)``: which of the category's landmarks the N tokens are (default: all, in order); training
        on random subsets of a large landmark set (468 face points) is cheap and keeps identities straight.
        ``return_elevation`` (a model with ``elevation_head``): also return the predicted camera elevation
        ``(B,)`` in radians, within +-90 deg, from the visible tokens' mean feature (ElePose's learned elevation:
        training rotates novel views about the vertical it implies; no ground truth trains it).
        """
        B, N, _ = p.shape
        vis = visible.to(p.dtype)[..., None]
        ident = self.identity(category, N, index)                    # (1, N, D)
        with torch.autocast(p.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            h = self.input_embed(torch.cat([p * vis, vis], -1)) + ident  # (B, N, D), float32 (the sum promotes)
            for i, block in enumerate(self.blocks):
                h = block(h, self.ident_proj[i](ident) if self.ident_proj else None, visible, self.bf16_attention)
        feat = self.norm(h.float())
        out = self.head(feat)                                        # (B, N, 3)
        xy = torch.where(visible[..., None], p, out[..., :2])
        lift = torch.cat([xy, out[..., 2:]], -1)
        if not return_elevation:
            return lift
        if not self.cfg.elevation_head:
            raise ValueError("this model has no elevation head (LifterConfig.elevation_head)")
        pooled = (feat * vis).sum(1) / vis.sum(1).clamp_min(1.0)    # (B, D)
        return lift, 0.5 * math.pi * torch.tanh(self.elevation(pooled)[:, 0])

    def forward(self, points2d: torch.Tensor, visible: torch.Tensor, category: str,
                index: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        """Lift pixel landmarks.

        Args:
            points2d: ``(B, N, 2)`` pixels (any translation and scale; values where not visible are ignored).
            visible: ``(B, N)`` bool, at least 3 True per row.
            category: a registered category name with N landmarks (or the ``index (N,)`` subset of its
                landmarks, as :meth:`lift_normalised` takes it).
        Returns:
            ``shape (B, N, 3)`` in normalised units (RMS radius of the visible 2D = 1), and the normalisation
            ``centre (B, 2)`` and ``scale (B,)``: ``shape * scale`` is the lift in pixel units, centred on the
            visible landmarks' 2D centroid.
        """
        p, centre, scale = normalise_2d(points2d, visible)
        return self.lift_normalised(p, visible, category, index), centre, scale


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
