"""Finger hinges: the plane each finger bends in, a regularity of the hand's 3D shape that 2D leaves loose.

A finger's three joints flex about parallel axes that lie in the palm (the knuckle is a Cardan joint: it turns the
finger sideways about the palm's normal, then flexes it about the turned axis; the two finger joints beyond are
hinges parallel to it), so the knuckle, the two finger joints and the fingertip lie in one plane, and that plane
holds the palm's normal: seen from the palm's side, a finger is a straight line from its knuckle, however it is
bent (anatomy: An et al. 1979; the ``hand21`` model of :mod:`lifter.data.hand` is built so, up to the small arch of
the knuckles that tilts the palm's normal by a degree or two). The thumb's two hinges are parallel too, so its base,
its two joints and its tip lie in one plane as well; but they are turned about the thumb's own axis (opposition), so
that plane does not hold the palm's normal: the thumb keeps only the plane.

For a finger with knuckle ``m``, joints ``a``, ``b`` and tip ``c``, and the palm's unit normal ``n`` (the normal of
the triangle wrist, index knuckle, little-finger knuckle), the residuals are

    det(a - m, b - m, n) / (|a - m| |b - m|)     and     det(a - m, c - m, n) / (|a - m| |c - m|),

the components of the unit vectors towards ``b`` and ``c`` along ``n x u(a - m)``, the normal of the plane through
``m``, ``a`` and ``n`` (``u(v) = v / |v|``): the sine of the angle by which the joint leaves that plane, times the
cosine of the first bone's elevation out of the palm, so that a knuckle flexed towards 90 degrees, whose plane the
palm's normal no longer pins, pulls less. Each is zero for a finger in its plane, whatever its flexion, and unchanged by
a rotation, a scale or a shift of the hand. For the thumb, with base ``m``, joints ``a``, ``b`` and tip ``c``, the one
residual is the volume of the three unit vectors from its base, ``det(u(a - m), u(b - m), u(c - m))``: zero when the
four lie in one plane. The bone-length refinement (:mod:`lifter.bone_lengths`) adds them, weighted, to its bone-length
residuals for ``hand21``: a 2D view fixes each landmark's ray, and these residuals pin where along the rays the fingers'
joints lie.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lifter.skeletons import get_category


@dataclass(frozen=True)
class Hinges:
    """A category's finger hinges: ``palm`` the landmark indices ``(wrist, first knuckle, last knuckle)`` whose
    triangle gives the palm's normal, ``fingers`` one ``(knuckle, joint, joint, tip)`` index tuple per finger whose
    plane holds the palm's normal, ``planar`` one ``(base, joint, joint, tip)`` tuple per digit that is only planar
    (the thumb)."""

    palm: tuple[int, int, int]
    fingers: tuple[tuple[int, int, int, int], ...]
    planar: tuple[tuple[int, int, int, int], ...] = ()

    @property
    def count(self) -> int:
        """Residuals per frame ``R``: two per finger, one per planar digit."""
        return 2 * len(self.fingers) + len(self.planar)


def hand_hinges() -> Hinges:
    """The four fingers and the thumb of ``hand21`` (MediaPipe order), by their landmark names."""
    names = get_category("hand21").landmarks
    at = names.index
    fingers = tuple(tuple(at(f"{finger}_{joint}") for joint in ("mcp", "pip", "dip", "tip"))
                    for finger in ("index", "middle", "ring", "pinky"))
    thumb = tuple(at(f"thumb_{joint}") for joint in ("cmc", "mcp", "ip", "tip"))
    return Hinges((at("wrist"), at("index_mcp"), at("pinky_mcp")), fingers, (thumb,))


def category_hinges(category: str) -> Hinges | None:
    """The hinges of ``category``: ``hand21``'s fingers, None for a category without them."""
    return hand_hinges() if category == "hand21" else None


def _unit(v: torch.Tensor, eps: float) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(eps)


def hinge_residuals(points: torch.Tensor, hinges: Hinges, eps: float = 1e-12) -> torch.Tensor:
    """The hinge residuals (module docstring) of ``points (..., N, 3)``: ``(..., R)``, ``R = hinges.count``, in
    the order finger by finger, the second joint's then the tip's, then one per planar digit. Degenerate geometry
    (coincident landmarks) gives finite values."""
    w, first, last = hinges.palm
    normal = _unit(torch.linalg.cross(points[..., first, :] - points[..., w, :],
                                      points[..., last, :] - points[..., w, :]), eps)
    out = []
    for m, a, b, c in hinges.fingers:
        ra = _unit(points[..., a, :] - points[..., m, :], eps)
        for o in (b, c):
            out.append((torch.linalg.cross(ra, _unit(points[..., o, :] - points[..., m, :], eps)) * normal).sum(-1))
    for m, a, b, c in hinges.planar:
        ra, rb, rc = (_unit(points[..., o, :] - points[..., m, :], eps) for o in (a, b, c))
        out.append((torch.linalg.cross(ra, rb) * rc).sum(-1))
    return torch.stack(out, -1)


def hinge_active(visible: torch.Tensor, hinges: Hinges) -> torch.Tensor:
    """Which residuals take part, ``(F, R)`` bool from ``visible (F, N)``: those whose landmarks (for a finger the
    palm's three, its knuckle and first joint, and the landmark it measures; for a planar digit its four) are all
    visible."""
    palm = visible[:, list(hinges.palm)].all(1)                                     # (F,)
    rows = [visible[:, [m, a, o]].all(1) & palm for m, a, b, c in hinges.fingers for o in (b, c)]
    rows += [visible[:, list(chain)].all(1) for chain in hinges.planar]
    return torch.stack(rows, -1)
