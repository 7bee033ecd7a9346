"""3D-aware fine-tuning (FiT3D's idea applied to landmarks): lift, re-render novel views, fine-tune on them.

FiT3D (ECCV 2024) lifts a 2D model's outputs into a 3D representation, renders it from new views and fine-tunes
the 2D model on the renderings. Here, with no ground-truth 3D anywhere:

1. a frozen copy of the starting model (the *teacher*) lifts each training 2D pose to 3D; with
   ``teacher_bones`` (``--teacher-bones``) that lift is first refined as ``lift()`` refines it at test time, by
   the bone-length step of :mod:`lifter.bone_lengths` (with the finger hinges for hands), for the categories the
   proportions file holds (bodies and hands): proportions fitted to a lifter's own lifts of training 2D, so still
   no 3D data; the student then learns the refined shapes. With ``teacher_reading = "perspective"``
   (``--teacher-reading perspective``) the teacher's lift is read through the pinhole that ``lift()``'s
   refinements guess from the 2D extent (as ``lift_with_camera`` without intrinsics reads it: x, y un-projected at
   each landmark's depth) instead of orthographically (x, y = the 2D), and the bone-length step moves it along
   that pinhole's rays. With ``distill_weight`` > 0 (``--teacher-distill W``) and the bone step, the student's
   own lift of the real training 2D is also pulled, depth by depth, towards the teacher's refined lift of it
   (loss ``distill``);
2. that 3D is re-rendered under ``views`` new random cameras: a rotation (yaw over 360 deg about the image's
   vertical axis, tilt up to ``tilt_deg``) and a perspective camera at a random distance (the training recipe's
   ``distance_range``), with 2D noise (sigma up to ``noise`` in normalised units, about the protocol's 0-2 px).
   With ``learned_elevation`` (``--finetune-elevation``) the yaw turns about the vertical of the camera elevation
   the teacher predicts (its elevation head), and the new views' elevations are drawn around the batch's, as the
   2D-only stage's learned-elevation views do (:func:`lifter.geometry.random_perspective_view`);
3. the model being fine-tuned (the *student*) lifts every rendered view; the losses are

   - ``render``: each view's lift, un-projected with its known perspective camera, must equal the rendered 3D;
   - ``cross_view``: the views' un-projected lifts, rotated back, must agree with each other;

   with ``block_prob`` (``--render-block-hide``) a rendered view may show the student only part of the shape (a
   block of up to ``block_max`` of its landmarks hidden, as :func:`lifter.masking.hide_blocks` draws it; the view
   normalised again on what is shown, as ``lift()`` would see it), while both losses still cover every landmark:
   the teacher's whole lift supervises the completion of the hidden block in 3D;

   both in the normalised 2D units of the training pose (no perspective residual, no unit-3D normalisation),

   added to the ordinary 2D-only losses on the real training 2D (hidden landmarks, cycle, critic), which keep
   the student tied to the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from lifter.bone_lengths import (BoneProportions, category_settings, pinhole_view_torch, refine_bone_lengths_torch,
                                 refine_lift_torch)
from lifter.geometry import masked_centre, random_perspective_view, unproject_lift
from lifter.losses import cross_view_loss, masked_mse
from lifter.masking import hide_blocks
from lifter.model import PRECISIONS, Lifter
from lifter.symmetry import DEFAULT_SPAN_OVER_FOCAL

#: How the 3D-aware stage reads the teacher's lift as a 3D shape (:attr:`FinetuneConfig.teacher_reading`).
TEACHER_READINGS = ("orthographic", "perspective")


@dataclass
class FinetuneConfig:
    """The 3D-aware stage's settings (``python -m lifter.train --finetune-3d-aware``)."""

    views: int = 2                    # rendered views per training pose
    tilt_deg: float = 20.0            # tilt range of the novel views about the image x axis
    noise: float = 0.01               # max sigma of the rendered 2D noise, normalised units (~2 px)
    render_weight: float = 1.0
    cross_view_weight: float = 1.0
    anchor_weight: float = 1.0        # weight of the ordinary 2D-only losses on the real training 2D
    learned_elevation: bool = False   # render about the vertical of the teacher's predicted camera elevation
    block_prob: float = 0.0           # chance that a rendered view shows the student a block hidden
    block_max: float = 0.5            # ... up to this fraction of its landmarks
    teacher_bones: str = ""           # bone proportions file refining the teacher's lifts ("": none)
    teacher_reading: str = "orthographic"   # or "perspective": through the pinhole guessed from the 2D extent
    distill_weight: float = 0.0       # weight of the student's depths on the real 2D against the refined teacher's
    teacher_precision: str = ""       # the teacher's blocks: "fp32" or "bf16" (model.PRECISIONS); "": the
                                      # student's (TrainConfig.precision), as every run before this field

    def check(self) -> None:
        """Raise ValueError naming the first setting the stage cannot run with (``finetune.<name>``: the command
        line's choices hold them already; a Python caller's typo is caught here, not read as the default)."""
        if not isinstance(self.views, int) or isinstance(self.views, bool) or self.views < 1:
            raise ValueError(f"finetune.views must be a whole number >= 1, got {self.views!r}")
        for name in ("tilt_deg", "noise", "render_weight", "cross_view_weight", "anchor_weight", "distill_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"finetune.{name} must be a finite number >= 0, got {value!r}")
        if self.tilt_deg >= 90:
            raise ValueError(f"finetune.tilt_deg must be below 90 (degrees), got {self.tilt_deg!r}")
        for name in ("block_prob", "block_max"):
            if not isinstance(getattr(self, name), (int, float)) or not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"finetune.{name} is a share in [0, 1], got {getattr(self, name)!r}")
        if self.teacher_reading not in TEACHER_READINGS:
            raise ValueError(f"finetune.teacher_reading must be one of {TEACHER_READINGS}, got "
                             f"{self.teacher_reading!r}")
        if self.teacher_precision not in ("",) + PRECISIONS:
            raise ValueError(f"finetune.teacher_precision must be one of {PRECISIONS} or '' (the student's), got "
                             f"{self.teacher_precision!r}")


def render_views_torch(shape: torch.Tensor, mask: torch.Tensor, views: int, tilt_deg: float,
                       distance_range: tuple[float, float], noise: float, gen: torch.Generator,
                       elevation: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """Render ``views`` random perspective views of ``shape (B, N, 3)`` (turned about the vertical of the camera
    ``elevation (B,)`` radians when given, see :func:`lifter.geometry.random_perspective_view`).

    Returns ``R (V, B, 3, 3)``, the rotated centred shapes ``(V, B, N, 3)``, their normalised 2D
    ``(V, B, N, 2)`` (perspective projection, re-normalised on ``mask``, plus Gaussian noise), and each view's
    normalisation and distance ``centre (V, B, 2)``, ``scale (V, B)``, ``distance (V, B)`` (for
    :func:`lifter.geometry.unproject_lift`).
    """
    rendered = []
    for _ in range(views):
        R, X, p, centre, scale, dist = random_perspective_view(shape, mask, tilt_deg, distance_range, gen,
                                                                  elevation)
        sigma = noise * torch.rand(shape.shape[0], 1, 1, generator=gen).to(shape.device)
        p = p + sigma * torch.randn(p.shape, generator=gen).to(shape.device) * mask[..., None]
        rendered.append((R, X, p, centre, scale, dist))
    return tuple(torch.stack(x) for x in zip(*rendered))


def lift_part(model: Lifter, p: torch.Tensor, shown: torch.Tensor, category: str,
              index: torch.Tensor | None) -> torch.Tensor:
    """Lift normalised 2D ``p (B, N, 2)`` showing the model only the landmarks ``shown (B, N)`` (a subset of the
    pose's own): the 2D is normalised again on the shown landmarks (centroid 0, RMS radius 1, what ``lift()``
    gives the network) and the lift ``(B, N, 3)`` mapped back to ``p``'s units: hidden landmarks at their
    predicted x, y."""
    lift, centre, scale = model(p, shown, category, index)
    return lift * scale[:, None, None] + torch.cat([centre, centre.new_zeros(len(p), 1)], -1)[:, None]


def refined_teacher_lift(shape: torch.Tensor, mask: torch.Tensor, category: str, proportions: BoneProportions
                         ) -> torch.Tensor:
    """The teacher's lift ``shape (B, N, 3)`` of normalised 2D (x, y the 2D of the landmarks in ``mask (B, N)``)
    refined as ``lift()`` refines it: the bone-length step at ``category``'s shipped settings
    (:func:`lifter.bone_lengths.category_settings`) along the rays of the camera guessed from the 2D extent; x, y
    kept, depths of the ``mask`` landmarks moved -> ``(B, N, 3)`` in ``shape``'s dtype."""
    centre = shape.new_zeros(len(shape), 2)                # the normalised 2D is centred: any origin will do
    return refine_lift_torch(shape, centre, mask, proportions, **category_settings(category)).to(shape.dtype)


def perspective_teacher_lift(shape: torch.Tensor, mask: torch.Tensor, category: str,
                             proportions: BoneProportions | None = None) -> torch.Tensor:
    """The teacher's lift ``shape (B, N, 3)`` of normalised 2D read through the pinhole guessed from the extent of
    the ``mask (B, N)`` landmarks' 2D (:func:`lifter.bone_lengths.pinhole_view_torch` at
    :data:`lifter.symmetry.DEFAULT_SPAN_OVER_FOCAL`, as ``lift()``'s refinements guess it): each landmark's depth
    relative to the ``mask`` landmarks' mean is kept and its x, y un-projected at that depth (the offset from the
    principal point times ``1 + depth / focal``, at least 0.1); with ``proportions``, then moved along that
    pinhole's rays towards them (:func:`lifter.bone_lengths.refine_bone_lengths_torch`, ``category``'s shipped
    settings) -> ``(B, N, 3)`` in ``shape``'s dtype and units (any offset: the renderer centres it)."""
    seen, rays, _ = pinhole_view_torch(shape, shape.new_zeros(len(shape), 2), mask, DEFAULT_SPAN_OVER_FOCAL,
                                       extent=mask, min_factor=0.1)
    if proportions is not None:
        seen = refine_bone_lengths_torch(seen, mask, proportions, rays, **category_settings(category))
    return seen.to(shape.dtype)


def finetune_losses(student: Lifter, teacher: Lifter, p: torch.Tensor, mask: torch.Tensor, category: str,
                    index: torch.Tensor | None, cfg: FinetuneConfig, distance_range: tuple[float, float],
                    gen: torch.Generator, proportions: BoneProportions | None = None) -> dict[str, torch.Tensor]:
    """The 3D-aware losses for normalised 2D ``p (B, N, 2)`` with landmarks ``mask (B, N)``: ``render`` and
    ``cross_view``, and ``distill`` with ``cfg.distill_weight`` and ``proportions``. The teacher's lift is read as
    ``cfg.teacher_reading`` says (:func:`perspective_teacher_lift`); with the category's bone ``proportions`` (and
    every landmark of the category, ``index`` None) it is refined towards them first (:func:`refined_teacher_lift`
    in the orthographic reading)."""
    elevation = None
    with torch.no_grad():
        if cfg.learned_elevation:                                           # (B, N, 3) the lifted 3D, (B,)
            shape, elevation = teacher.lift_normalised(p, mask, category, index, return_elevation=True)
        else:
            shape = teacher.lift_normalised(p, mask, category, index)
        refines = proportions is not None and index is None
        perspective = cfg.teacher_reading == "perspective"
        # the bone-refined lift: the distillation's target, and what the orthographic reading renders (one step)
        refined = (refined_teacher_lift(shape, mask, category, proportions)
                   if refines and (cfg.distill_weight or not perspective) else None)
        target = refined if cfg.distill_weight else None
        if perspective:
            shape = perspective_teacher_lift(shape, mask, category, proportions if refines else None)
        elif refined is not None:
            shape = refined
    R, rotated, p2d, centre, scale, dist = render_views_torch(shape, mask, cfg.views, cfg.tilt_deg,
                                                              distance_range, cfg.noise, gen, elevation)
    V, B, N, _ = p2d.shape
    flat, full = p2d.reshape(V * B, N, 2), mask.repeat(V, 1)
    if cfg.block_prob > 0:                  # drawn only then: runs without blocks keep their random stream
        lifts = lift_part(student, flat, hide_blocks(flat, full, cfg.block_prob, cfg.block_max, gen), category,
                          index)
    else:
        lifts = student.lift_normalised(flat, full, category, index)
    # Each view's lift back in 3D (perspective undone with the known camera), then in the shape's own frame.
    seen = unproject_lift(lifts, centre.reshape(V * B, 2), scale.reshape(V * B), dist.reshape(V * B),
                          full).reshape(V, B, N, 3)
    render = sum(masked_mse(seen[v], rotated[v], mask) for v in range(V)) / V
    back = torch.stack([masked_centre(seen[v], mask) @ R[v] for v in range(V)])   # rotate back: x R = (R^T x^T)^T
    losses = {"render": render, "cross_view": cross_view_loss(back, mask)}
    if target is not None:
        # the student's own lift of the real 2D: its depths against the refined teacher's (x, y are the 2D in both)
        own = student.lift_normalised(p, mask, category, index)
        losses["distill"] = masked_mse(own[..., 2:], target[..., 2:], mask)
    return losses
