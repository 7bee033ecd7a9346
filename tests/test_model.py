"""The network's invariances, masking, and Procrustes/geometry against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lifter.geometry import aligned_errors, normalise_2d, random_rotations, rotation_x, rotation_y, \
    similarity_procrustes
from lifter.model import Lifter, LifterConfig

CATS = {"human17": 17, "hand21": 21, "face468": 468, "chair": 21}


@pytest.fixture(scope="module")
def model() -> Lifter:
    torch.manual_seed(0)
    return Lifter(LifterConfig(categories=CATS, dim=64, depth=3, heads=4)).eval()


def test_procrustes_recovers_a_known_similarity() -> None:
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(4, 17, 3))
    R = rotation_x(0.7) @ rotation_y(-1.2)
    pred = 0.37 * gt @ R.T + np.array([5.0, -2.0, 9.0])                   # rotated, scaled, shifted copy
    aligned = similarity_procrustes(pred, gt, np.ones((4, 17), bool))
    np.testing.assert_allclose(aligned, gt, atol=1e-9)
    assert np.nanmax(aligned_errors(pred, gt, np.ones((4, 17), bool))) < 1e-9


def test_procrustes_rejects_reflections() -> None:
    rng = np.random.default_rng(1)
    gt = rng.normal(size=(3, 17, 3)) * np.array([1.0, 2.0, 0.5])
    mirrored = gt * np.array([1.0, 1.0, -1.0])
    err = aligned_errors(mirrored, gt, np.ones((3, 17), bool))
    assert err.mean() > 0.1                                               # no rotation undoes a mirror
    # The best proper rotation of the mirror flips the least-spread axis; the aligned copy has det +1.
    aligned = similarity_procrustes(mirrored, gt, np.ones((3, 17), bool))
    a = aligned - aligned.mean(1, keepdims=True)
    m = mirrored - mirrored.mean(1, keepdims=True)
    T = np.linalg.lstsq(m[0], a[0], rcond=None)[0]
    assert np.linalg.det(T) > 0
    # Closed form: the six points +-a x, +-b y, +-c z (a > b > c) and their mirror in z. The best proper rotation
    # is the identity, and the scale that goes with it (a^2 + b^2 - c^2) / (a^2 + b^2 + c^2): the flip-best
    # figure of the benchmark reads this alignment.
    a_, b_, c_ = 3.0, 2.0, 1.0
    axes = np.array([[a_, 0, 0], [-a_, 0, 0], [0, b_, 0], [0, -b_, 0], [0, 0, c_], [0, 0, -c_]])
    flipped = axes * np.array([1.0, 1.0, -1.0])
    scale = (a_ ** 2 + b_ ** 2 - c_ ** 2) / (a_ ** 2 + b_ ** 2 + c_ ** 2)
    np.testing.assert_allclose(similarity_procrustes(flipped[None], axes[None], np.ones((1, 6), bool))[0],
                               scale * flipped, atol=1e-12)


def test_normalise_2d_closed_form() -> None:
    pts = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0], [99.0, 99.0]]])
    vis = torch.tensor([[True, True, True, True, False]])
    p, c, s = normalise_2d(pts, vis)
    torch.testing.assert_close(c, torch.tensor([[1.0, 1.0]]))
    torch.testing.assert_close(s, torch.tensor([2.0 ** 0.5]))
    assert p[0, 4].abs().sum() == 0
    R = random_rotations(100, torch.Generator().manual_seed(0))
    torch.testing.assert_close(R @ R.transpose(1, 2), torch.eye(3).expand(100, 3, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.linalg.det(R), torch.ones(100), atol=1e-5, rtol=0)


def test_invariant_to_translation_and_scale(model: Lifter) -> None:
    torch.manual_seed(1)
    pts = torch.randn(5, 17, 2) * 80 + 400
    vis = torch.ones(5, 17, dtype=torch.bool)
    with torch.no_grad():
        a, _, sa = model(pts, vis, "human17")
        b, _, sb = model(pts * 3.5 + torch.tensor([-250.0, 1234.0]), vis, "human17")
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(sb, sa * 3.5)
    # Visible landmarks keep their normalised input x, y (the lift reprojects onto the input).
    p, _, _ = normalise_2d(pts, vis)
    torch.testing.assert_close(a[..., :2], p)


def test_missing_landmarks_do_not_influence_the_others(model: Lifter) -> None:
    torch.manual_seed(2)
    pts = torch.randn(3, 21, 2) * 50
    vis = torch.ones(3, 21, dtype=torch.bool)
    vis[:, [4, 8, 15]] = False
    other = pts.clone()
    other[:, [4, 8, 15]] = torch.tensor([1e4, -3e3])                        # garbage where missing
    nan = pts.clone()
    nan[:, [4, 8, 15]] = float("nan")
    with torch.no_grad():
        a, _, _ = model(pts, vis, "chair")
        b, _, _ = model(other, vis, "chair")
        c, _, _ = model(nan, vis, "chair")
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)
    assert torch.isfinite(a).all()
    # Hiding a landmark changes the prediction (it is not ignored altogether).
    vis2 = vis.clone()
    vis2[:, 0] = False
    with torch.no_grad():
        d, _, _ = model(pts, vis2, "chair")
    assert (d[:, 1:] - a[:, 1:]).abs().max() > 1e-4


def test_identity_code_breaks_permutation_symmetry(model: Lifter) -> None:
    """Permuting the input tokens must not simply permute the output: tokens know which landmark they are."""
    torch.manual_seed(3)
    pts = torch.randn(2, 17, 2)
    vis = torch.ones(2, 17, dtype=torch.bool)
    perm = torch.randperm(17)
    with torch.no_grad():
        a, _, _ = model(pts, vis, "human17")
        b, _, _ = model(pts[:, perm], vis, "human17")
    assert (b[..., 2] - a[:, perm, 2]).abs().max() > 1e-3
    # The category matters too.
    with torch.no_grad():
        c, _, _ = model(pts, vis[:, :17], "human17")
        d, _, _ = model(torch.cat([pts, pts[:, :4]], 1), torch.ones(2, 21, dtype=torch.bool), "hand21")
    assert (c[..., 2] - d[:, :17, 2]).abs().max() > 1e-4


def test_input_only_ablation_has_no_per_layer_identity() -> None:
    every = Lifter(LifterConfig(categories=CATS, dim=32, depth=2, heads=2))
    only = Lifter(LifterConfig(categories=CATS, dim=32, depth=2, heads=2, identity="input_only"))
    assert len(every.ident_proj) == 2 and len(only.ident_proj) == 0
    with pytest.raises(ValueError, match="identity"):
        Lifter(LifterConfig(categories=CATS, identity="nowhere"))


def test_every_block_takes_the_identity_code_through_its_own_projection() -> None:
    """The headline design: each attention block's queries and keys get the landmark identity again, through that
    layer's own projection; the input-only ablation gives none past the input. A model that re-injected it at the
    first layer only had passed the count of projections above."""
    torch.manual_seed(0)
    pts, vis = torch.randn(2, 17, 2), torch.ones(2, 17, dtype=torch.bool)
    for identity, depth in (("every_layer", 3), ("input_only", 3)):
        model = Lifter(LifterConfig(categories=CATS, dim=32, depth=depth, heads=2, identity=identity)).eval()
        given: list[torch.Tensor | None] = []
        hooks = [b.register_forward_pre_hook(lambda module, args: given.append(args[1])) for b in model.blocks]
        with torch.no_grad():
            model.lift_normalised(pts, vis, "human17")
            code = model.identity("human17", 17)
        for h in hooks:
            h.remove()
        assert len(given) == depth
        if identity == "input_only":
            assert all(g is None for g in given)
            continue
        for i, g in enumerate(given):
            torch.testing.assert_close(g, model.ident_proj[i](code))
        with torch.no_grad():                              # and a later layer's projection changes the lift
            before = model.lift_normalised(pts, vis, "human17")
            model.ident_proj[depth - 1].weight.mul_(3.0)
            after = model.lift_normalised(pts, vis, "human17")
        assert (after[..., 2] - before[..., 2]).abs().max() > 1e-4


def test_orthographic_camera_recovers_a_known_rotation_and_scale() -> None:
    from lifter.geometry import orthographic_camera

    rng = np.random.default_rng(5)
    X = torch.tensor(rng.normal(size=(3, 17, 3)), dtype=torch.float64)
    R_true = torch.tensor(rotation_x(0.4) @ rotation_y(2.1))[:2]          # (2, 3): the first two rows
    x = 3.0 * X @ R_true.T + torch.tensor([10.0, -4.0], dtype=torch.float64)
    s, R = orthographic_camera(X, x, torch.ones(3, 17, dtype=torch.bool))
    torch.testing.assert_close(s, torch.full((3,), 3.0, dtype=torch.float64))
    torch.testing.assert_close(R, R_true.expand(3, 2, 3))
    mask = torch.ones(3, 17, dtype=torch.bool)                        # landmarks outside the mask: ignored
    mask[:, 12:] = False
    X_bad, x_bad = X.clone(), x.clone()
    X_bad[:, 12:] = 1e3
    x_bad[:, 12:] = -1e3
    s, R = orthographic_camera(X_bad, x_bad, mask)
    torch.testing.assert_close(s, torch.full((3,), 3.0, dtype=torch.float64))
    torch.testing.assert_close(R, R_true.expand(3, 2, 3))


def test_canonical_eigenbasis_ignores_which_eigenvectors_eigh_returned() -> None:
    """A body's skeleton has repeated Laplacian eigenvalues (left and right limbs): any rotation of the
    eigenvectors within such an eigenspace, and any sign flips, must give the same canonical basis."""
    from lifter.model import canonical_eigenbasis, skeleton_laplacian
    from lifter.skeletons import get_category

    L = skeleton_laplacian(17, get_category("human17").edges)
    np.testing.assert_array_equal(L.sum(1), np.zeros(17))              # a Laplacian: rows sum to zero
    assert np.trace(L) == 2 * len(get_category("human17").edges)
    w, V = np.linalg.eigh(L)
    repeated = np.flatnonzero(np.diff(w) < 1e-9)
    assert len(repeated) >= 1, "the body skeleton has a repeated eigenvalue"
    rng = np.random.default_rng(0)
    V2 = V * rng.choice([-1.0, 1.0], size=17)                         # flip signs
    for i in repeated:                                                # rotate within each repeated pair
        t = rng.uniform(0, 2 * np.pi)
        G = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        V2[:, i:i + 2] = V2[:, i:i + 2] @ G
    B1, B2 = canonical_eigenbasis(w, V), canonical_eigenbasis(w, V2)
    np.testing.assert_allclose(B1, B2, atol=1e-10)
    np.testing.assert_allclose(B1.T @ B1, np.eye(17), atol=1e-10)     # still an orthonormal eigenbasis
    np.testing.assert_allclose(L @ B1, B1 * w, atol=1e-10)


def test_laplacian_code_follows_the_skeleton() -> None:
    from lifter.model import laplacian_code

    # A path of 4 nodes: closed-form eigenvalues 2 - 2 cos(k pi / 4), eigenvectors cos(pi k (i + 1/2) / 4).
    code = laplacian_code(4, ((0, 1), (1, 2), (2, 3)), 5).numpy().astype(np.float64)
    i = np.arange(4)
    for k in (1, 2, 3):
        v = np.cos(np.pi * k * (i + 0.5) / 4)
        v *= 2.0 / np.linalg.norm(v)                                  # sqrt(n) times a unit vector
        assert np.allclose(code[:, k - 1], v, atol=1e-6) or np.allclose(code[:, k - 1], -v, atol=1e-6)
    assert (code[:, 3:] == 0).all()                                   # only n - 1 non-trivial eigenvectors
    # Every landmark of the body, hand and chair skeletons gets its own code.
    from lifter.skeletons import get_category
    for name in ("human17", "hand21", "chair"):
        cat = get_category(name)
        c = laplacian_code(cat.num_landmarks, cat.edges, 16).numpy()
        assert len(np.unique(c.round(5), axis=0)) == cat.num_landmarks, name


def test_laplacian_identity_code_keeps_the_invariances() -> None:
    torch.manual_seed(4)
    lap = Lifter(LifterConfig(categories=CATS, dim=32, depth=2, heads=2, identity_code="laplacian+fourier")).eval()
    plain = Lifter(LifterConfig(categories=CATS, dim=32, depth=2, heads=2))
    assert lap.code_proj.in_features == plain.code_proj.in_features + 16
    pts = torch.randn(3, 17, 2) * 60 + 300
    vis = torch.ones(3, 17, dtype=torch.bool)
    vis[:, 5] = False
    other = pts.clone()
    other[:, 5] = 1e4                                                 # garbage where missing
    with torch.no_grad():
        a, _, _ = lap(pts, vis, "human17")
        b, _, _ = lap(other * 2.0 + 7.0, vis, "human17")
        # Training on a subset of landmarks (index) picks the same identities as the full set.
        sub = torch.tensor([0, 3, 7, 9, 12])
        full = lap.identity("human17", 17)[0, sub]
        torch.testing.assert_close(lap.identity("human17", 5, sub)[0], full)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="identity_code"):
        Lifter(LifterConfig(categories=CATS, identity_code="laplacian"))


def test_bf16_compute_keeps_the_contract_and_stays_close_to_float32(model: Lifter) -> None:
    """``Lifter.bf16`` (``--precision bf16``): the blocks run under bfloat16 autocast, the output stays float32,
    visible x, y are still exactly the normalised input, missing landmarks still have no influence, and the
    depths differ from the float32 ones by about bfloat16's rounding (8 bits of mantissa), not more."""
    torch.manual_seed(4)
    pts = torch.randn(64, 17, 2) * 80 + 400
    vis = torch.rand(64, 17) > 0.2
    vis[:, :3] = True
    garbage = torch.where(vis[..., None], pts, torch.tensor(1e4))
    assert not model.bf16                                                 # off unless a trainer turns it on
    with torch.no_grad():
        a, _, _ = model(pts, vis, "human17")
        model.bf16 = True
        try:
            b, _, _ = model(pts, vis, "human17")
            c, _, _ = model(garbage, vis, "human17")
        finally:
            model.bf16 = False
        again, _, _ = model(pts, vis, "human17")
    assert b.dtype == torch.float32
    torch.testing.assert_close(again, a, rtol=0, atol=0)                 # switching back restores float32 exactly
    p, _, _ = normalise_2d(pts, vis)
    torch.testing.assert_close(b[..., :2][vis], p[vis], rtol=0, atol=0)
    torch.testing.assert_close(b, c, rtol=0, atol=0)
    gap = (b - a)[..., 2].pow(2).mean().sqrt() / a[..., 2].pow(2).mean().sqrt()
    assert 0 < gap < 0.03, gap                                            # rounded, but only rounded


def test_attention_matches_the_fused_kernel_in_float32_and_to_rounding_in_bf16() -> None:
    """``lifter.model.attention`` leaves float32 inputs to PyTorch's kernel as they are and, given bfloat16 ones
    on the CPU (under autocast, as the blocks call it), runs its own bfloat16 matrix products: output and input
    gradients within bfloat16's rounding of the float32 kernel's on the same rounded values, masked keys (and
    their garbage) without influence, every query attending, and the mask the same as the kernel's."""
    from lifter.model import attention

    torch.manual_seed(5)
    q, k, v = (torch.randn(6, 4, 21, 32) for _ in range(3))
    mask = torch.rand(6, 1, 1, 21) > 0.3
    mask[..., :3] = True
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(attention(q, k, v, mask), ref, rtol=0, atol=0)
    qb, kb, vb = (t.to(torch.bfloat16).requires_grad_() for t in (q, k, v))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = attention(qb, kb, vb, mask)
    assert out.dtype == torch.bfloat16 and out.shape == q.shape
    qf, kf, vf = (t.detach().float().requires_grad_() for t in (qb, kb, vb))
    ref_b = torch.nn.functional.scaled_dot_product_attention(qf, kf, vf, attn_mask=mask)
    rms = lambda t: t.float().pow(2).mean().sqrt()                        # noqa: E731
    assert 0 < rms(out.float() - ref_b) / rms(ref_b) < 0.02               # rounded, but only rounded
    weights = torch.randn_like(ref_b)
    (out.float() * weights).sum().backward()
    (ref_b * weights).sum().backward()
    for got, want in ((qb.grad, qf.grad), (kb.grad, kf.grad), (vb.grad, vf.grad)):
        assert rms(got.float() - want) / rms(want) < 0.03
    hidden = ~mask[:, 0, 0, :, None].expand_as(k[:, 0])                  # (B, N, E): the masked keys' rows
    kg, vg = kb.detach().clone(), vb.detach().clone()
    kg[hidden[:, None].expand_as(kg)] = 1e4
    vg[hidden[:, None].expand_as(vg)] = -1e4
    with torch.autocast("cpu", dtype=torch.bfloat16):
        garbage = attention(qb.detach(), kg, vg, mask)
    torch.testing.assert_close(garbage, out.detach(), rtol=0, atol=0)
    assert kb.grad[hidden[:, None].expand_as(kb)].abs().max() == 0      # nothing flows back to masked keys
    assert torch.isfinite(out).all()
    with torch.autocast("cpu", dtype=torch.bfloat16):                     # every bf16 run before the choice
        fused = attention(qb.detach(), kb.detach(), vb.detach(), mask, bf16="fp32")
        with pytest.raises(ValueError, match="bf16 attention"):
            attention(qb.detach(), kb.detach(), vb.detach(), mask, bf16="fp16")
    assert fused.dtype == torch.float32
    torch.testing.assert_close(fused, ref_b.detach(), rtol=0, atol=0)
