"""The benchmark's scoring and references (``lifter.evaluate``) against closed forms, and a run on tiny data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from data_files import write_chair_data, write_face_data, write_hand_data, write_test_files

from lifter import load_lifter
from lifter.evaluate import (BEST_DEPTH_LABEL, DEFAULT_MODELS, SHIPPED, WEIGHTS_DIR, evaluate, lifter_camera_method,
                             lifter_method, score, short_method, to_markdown)
from lifter.references import best_depth_floor, depth_only_floor
from lifter.views import TestSet, load_test_set


def _camera_view(shape: np.ndarray, distance: float, focal: float = 1000.0) -> TestSet:
    """``shape (B, N, 3)`` (centred, any units) placed ``distance`` in front of a pinhole camera, no noise."""
    cam = shape + np.array([0.0, 0.0, distance])
    principal = np.full((len(shape), 2), 500.0)
    uv = focal * cam[..., :2] / cam[..., 2:] + principal[:, None]
    ones = np.ones(shape.shape[:2], bool)
    return TestSet("hand21", "clean", uv, ones, ones, cam, np.full(len(shape), focal), principal)


def test_score_of_the_truth_and_of_its_depth_mirror() -> None:
    rng = np.random.default_rng(0)
    test = _camera_view(rng.normal(size=(5, 21, 3)) * 50, 600.0)
    exact = score(test.points3d * 3.0 + 7.0, test)             # a similarity away from the truth: no error
    assert exact["strict"] < 1e-6 and exact["mirrored_share"] == 0.0
    mirrored = score(test.points3d * np.array([1.0, 1.0, -1.0]), test)
    assert mirrored["strict"] > 1.0 and mirrored["flip_best"] < 1e-6 and mirrored["mirrored_share"] == 1.0


def test_score_units_landmarks_and_flip_best_in_closed_form() -> None:
    """The same arrays scored as a chair (% of the truth's RMS radius over its *present* landmarks) and as a hand
    (mm): per view the % figure is 100 x mm / radius; the strict figure is the mean of the views' means; a landmark
    absent from a view is not counted in that view's place of the per-landmark means; the per-landmark flip-best
    figure takes each view's better reading."""
    from lifter.geometry import aligned_errors, rms_radius

    rng = np.random.default_rng(3)
    test = _camera_view(rng.normal(size=(3, 21, 3)) * 50, 600.0)
    present = np.ones((3, 21), bool)
    present[2, :4] = False                                                 # a chair without four keypoints
    truth = np.where(present[..., None], test.points3d, np.nan)
    visible = present.copy()
    visible[:, 10:14] = False                                              # hidden but present: still scored
    pred = test.points3d + rng.normal(size=test.points3d.shape) * 5.0
    pred[0] = test.points3d[0] * np.array([1.0, 1.0, -1.0]) + rng.normal(size=(21, 3)) * 0.5   # view 0 mirrored
    sets = {c: TestSet(c, "clean", test.points2d, visible, present, truth, test.focal, test.principal)
            for c in ("hand21", "chair")}
    mm, pct = score(pred, sets["hand21"]), score(pred, sets["chair"])
    err = aligned_errors(pred, truth, present)                             # (3, 21) mm, NaN where absent
    err_m = aligned_errors(pred * np.array([1.0, 1.0, -1.0]), truth, present)
    radius = rms_radius(np.nan_to_num(truth), present)                     # over the present landmarks
    per_view, per_view_m = np.nanmean(err, 1), np.nanmean(err_m, 1)
    assert mm["strict"] == pytest.approx(per_view.mean(), rel=1e-9)
    assert pct["strict"] == pytest.approx((100 * per_view / radius).mean(), rel=1e-9)
    assert mm["median_strict"] == pytest.approx(np.median(per_view), rel=1e-9)
    assert per_view_m[0] < per_view[0] and (per_view[1:] < per_view_m[1:]).all()
    assert mm["flip_best"] == pytest.approx(np.minimum(per_view, per_view_m).mean(), rel=1e-9)
    assert mm["mirrored_share"] == pytest.approx(1 / 3)
    # landmark 0: scored in views 0 and 1 only; landmark 5 in all three
    assert mm["per_landmark"][0] == pytest.approx((err[0, 0] + err[1, 0]) / 2, abs=1e-3)
    assert mm["per_landmark"][5] == pytest.approx(err[:, 5].mean(), abs=1e-3)
    assert pct["per_landmark"][0] == pytest.approx(100 * (err[0, 0] / radius[0] + err[1, 0] / radius[1]) / 2,
                                                   abs=1e-3)
    assert mm["per_landmark_flip_best"][5] == pytest.approx((err_m[0, 5] + err[1, 5] + err[2, 5]) / 3, abs=1e-3)


def test_cross_view_figure_is_in_the_categorys_units_whatever_the_lifts_scale(tmp_path: Path) -> None:
    """The cross-view disagreement of a method that returns the truth plus noise of 1 % of the RMS radius per
    coordinate: about 100 x sqrt(2) x 1 % x E|N(0, I_3)| ~ 2.2 % on chairs (less the part the alignment absorbs),
    not that in the chairs' own units (their radius is about 0.3); and the same figure for the method's lifts at 7
    times their size (each lift is brought to the truth's radius first). On hands, in mm, scale-free too."""
    from lifter.evaluate import cross_view_consistency
    from lifter.geometry import rms_radius

    write_chair_data(tmp_path)
    write_hand_data(tmp_path, train=4, test=12)

    def noisy(t: TestSet, size: float = 1.0) -> np.ndarray:
        truth = np.nan_to_num(t.points3d.astype(np.float64))
        rng = np.random.default_rng(int(np.nansum(np.abs(t.points2d))) % 2 ** 32)   # the same noise at any size
        noise = rng.normal(size=truth.shape) * 0.01 * rms_radius(truth, t.present)[:, None, None]
        return size * (truth + noise)

    for category, low, high in (("chair", 1.0, 2.5), ("hand21", 0.3, 1.5)):
        test = load_test_set(tmp_path, category, "clean")
        figure = cross_view_consistency(noisy, tmp_path, test)
        assert low < figure < high, (category, figure)
        assert cross_view_consistency(lambda t: noisy(t, 7.0), tmp_path, test) == pytest.approx(figure, rel=1e-9)


def test_floor_of_the_output_form_is_the_perspective_error() -> None:
    rng = np.random.default_rng(1)
    shape = rng.normal(size=(6, 21, 3)) * 50
    # A flat shape facing the camera projects like a scaled orthographic one: the floor is exactly zero.
    flat = shape * np.array([1.0, 1.0, 0.0])
    assert score(depth_only_floor(_camera_view(flat, 300.0)), _camera_view(flat, 300.0))["strict"] < 1e-6
    # A deep shape: the error of reading the image orthographically shrinks as the camera moves away (~1/d).
    near, far = (score(depth_only_floor(_camera_view(shape, d)), _camera_view(shape, d))["strict"]
                 for d in (300.0, 3000.0))
    assert near > 1.0 and far < near / 5
    # Hidden landmarks take their true 3D: hiding all but three changes nothing for a flat shape.
    test = _camera_view(flat, 300.0)
    test.visible[:, 3:] = False
    test.points2d[~test.visible] = np.nan
    assert score(depth_only_floor(test), test)["strict"] < 1e-6


def test_reference_rows_in_closed_form(tmp_path: Path) -> None:
    """The mean shape of copies of one shape, each turned, scaled and moved, is that shape (generalised
    Procrustes: unaligned, the turned copies would average into a blob); the flat row puts hidden landmarks at the
    visible centroid (the origin), finite; the floor's depths are relative to the mean depth of the *present*
    landmarks, hidden ones included, in pixels at that depth."""
    from lifter.geometry import aligned_errors, rotation_x, rotation_y
    from lifter.references import flat_method, mean_shape

    rng = np.random.default_rng(4)
    shape = rng.normal(size=(21, 3))
    R = rotation_y(rng.uniform(0, 2 * np.pi, 40)) @ rotation_x(rng.uniform(-1, 1, 40))
    copies = rng.uniform(0.5, 2, (40, 1, 1)) * np.einsum("fij,nj->fni", R, shape) + rng.normal(size=(40, 1, 3))
    np.savez(tmp_path / "hand21_train.npz", points2d=copies[..., :2].astype(np.float32),
             points3d=copies.astype(np.float32), category=np.array("hand21"))
    mean = mean_shape(tmp_path, "hand21")
    assert np.nanmax(aligned_errors(mean[None], shape[None], np.ones((1, 21), bool))) < 1e-4 * np.abs(shape).max()

    test = _camera_view(rng.normal(size=(4, 21, 3)) * 50, 300.0)
    test.present = test.present.copy()                                    # (one array for both, above)
    test.visible[:, 15:] = False
    test.points2d[~test.visible] = np.nan
    flat = flat_method(test)
    assert np.isfinite(flat).all() and (flat[:, 15:] == 0).all() and (flat[..., 2] == 0).all()
    np.testing.assert_allclose(flat[:, :15, :2].mean(1), 0.0, atol=1e-9)

    floor = depth_only_floor(test)
    Z = test.points3d[..., 2]
    z_mean = Z.mean(1, keepdims=True)                                     # every landmark present, 6 hidden
    np.testing.assert_allclose(floor[..., 2], (Z - z_mean) * test.focal[:, None] / z_mean, rtol=1e-9)
    np.testing.assert_allclose(floor[:, 15:, :2], test.points3d[:, 15:, :2] * (test.focal[:, None] / z_mean)[..., None],
                               rtol=1e-9)


def test_best_depths_keep_the_input_and_beat_the_true_depths(monkeypatch) -> None:
    rng = np.random.default_rng(2)
    shape = rng.normal(size=(6, 21, 3)) * 50
    test = _camera_view(shape, 300.0)
    best, true = best_depth_floor(test), depth_only_floor(test)
    np.testing.assert_allclose(best[..., :2], true[..., :2], atol=1e-9)      # the API's form: x, y are the input
    near, floor = score(best, test)["strict"], score(true, test)["strict"]
    assert 0.1 < near < 0.97 * floor         # under perspective no depths are exact, but the true ones are not best
    # the descent keeps each view's best iterate: no view reads worse than the least squares it starts from, even
    # where the steps overshoot (here a step size 5,000 times the descent's)
    import torch

    from lifter.geometry import aligned_errors
    start = best_depth_floor(test, refine_steps=0)
    per_view = lambda lift: aligned_errors(lift, test.points3d, test.present).mean(1)   # noqa: E731
    assert (per_view(best) <= per_view(start) + 1e-9).all()
    adam = torch.optim.Adam
    monkeypatch.setattr(torch.optim, "Adam", lambda params, lr: adam(params, lr=5000 * lr))
    np.testing.assert_allclose(per_view(best_depth_floor(test, refine_steps=20)), per_view(start), rtol=1e-9)
    monkeypatch.undo()
    # A local minimum of the benchmark's figure: no small change of the visible depths lowers it.
    scale = np.abs(best[..., 2]).mean()
    for _ in range(10):
        nudged = best.copy()
        nudged[..., 2] += rng.normal(size=nudged.shape[:2]) * 1e-3 * scale
        assert score(nudged, test)["strict"] >= near - 1e-9
    # A flat shape facing the camera is read exactly, as by the true depths.
    flat = _camera_view(shape * np.array([1.0, 1.0, 0.0]), 300.0)
    assert score(best_depth_floor(flat), flat)["strict"] < 1e-6
    # Hidden landmarks are free: with three left visible, whose depths are free too, the truth is reachable.
    test.visible[:, 3:] = False
    test.points2d[~test.visible] = np.nan
    assert score(best_depth_floor(test), test)["strict"] < 0.01 * near


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    from lifter.data.hand import sample_hands

    out = tmp_path_factory.mktemp("data")
    hands, _ = sample_hands(16, np.random.default_rng(0))
    write_test_files(out, "hand21", hands, np.ones(hands.shape[:2], bool), 1)
    return out


def test_evaluate_on_tiny_data(tiny_data: Path) -> None:
    from lifter.api import DEFAULT_WEIGHTS

    report = evaluate(tiny_data, {"bundled": DEFAULT_WEIGHTS}, ("hand21",), device="cpu", progress=False)
    rows = {(r["method"], r["setting"]): r for r in report["results"]}
    floor = rows[("true depth on the input x, y (floor of the output form)", "clean")]
    assert 0 < rows[(BEST_DEPTH_LABEL, "clean")]["strict"] < floor["strict"]
    flat = rows[("flat (zero depth)", "clean")]
    lifter = rows[("bundled", "clean")]
    assert 0 < floor["strict"] < lifter["strict"] < flat["strict"]      # the trained lifter beats a flat guess
    assert lifter["cross_view"] > 0 and "cross_view" not in flat
    assert rows[("bundled", "occluded")]["strict"] > 0
    # The first model also runs without mirror averaging; hands have no mirror pairs, so the rows agree.
    plain = rows[("bundled, without mirror averaging", "clean")]
    assert plain["strict"] == pytest.approx(lifter["strict"], abs=1e-6)
    # ... and read through the test cameras' intrinsics: a different reading of the same lift, with a cross-view.
    camera = rows[("bundled, with the camera intrinsics (lift_with_camera)", "clean")]
    assert camera["strict"] != pytest.approx(lifter["strict"], abs=1e-6) and camera["cross_view"] > 0
    # ... and through a camera guessed from the landmarks: a third reading, with a cross-view too.
    guessed = rows[("bundled, through a camera guessed from the landmarks (lift_with_camera without intrinsics)",
                    "clean")]
    assert guessed["cross_view"] > 0
    assert len({guessed["strict"], camera["strict"], lifter["strict"]}) == 3
    # ... but not as a fitted shape, which needs a shape basis (faces): those rows are left out for hands.
    assert not any("fitted shape" in method for method, _ in rows)
    # ... and without the symmetry refinement, which hands (no symmetric shape) never run: the row is a copy.
    assert rows[("bundled, without the symmetry refinement", "clean")]["strict"] == lifter["strict"]
    # ... and without the shape-basis refinement, which hands (no basis) never run: a copy too.
    assert rows[("bundled, without the shape-basis refinement", "clean")]["strict"] == lifter["strict"]
    # ... while the bone-length refinement runs on hands: that row is measured (the parametrised test below)
    assert rows[("bundled, without the bone-length refinement", "clean")]["strict"] != lifter["strict"]
    # ... and so is the completion of hidden landmarks, on the occluded views (a copy on the clean ones)
    assert rows[("bundled, without hidden-landmark completion", "occluded")]["strict"] != \
        rows[("bundled", "occluded")]["strict"]
    assert rows[("bundled, without hidden-landmark completion", "clean")]["strict"] == lifter["strict"]
    md = to_markdown(report)
    assert "| hand21 | bundled |" in md and "floor of the output form" in md


def test_markdown_writes_the_shipped_label_short_and_gives_it_once_in_full() -> None:
    """The shipped lifter's label is a sentence long: the table's rows name it short (its variants keep their
    suffixes), the line above the table gives it in full; the JSON's labels are not touched."""
    row = {"category": "hand21", "setting": "clean", "strict": 5.0, "flip_best": 5.0, "units": "mm",
           "mirrored_share": 0.0, "per_landmark": [1.0] * 21}
    rows = [dict(row, method=SHIPPED), dict(row, method=SHIPPED + ", without mirror averaging"),
            dict(row, method="flat (zero depth)")]
    md = to_markdown({"models": {SHIPPED: "x"}, "results": rows})
    legend = f'*lifter (shipped)* stands for "{SHIPPED}" (the label in the JSON).'
    assert md.count(SHIPPED) == 1 and md.startswith(legend + "\n\n| category |")
    assert "| hand21 | lifter (shipped) | 5.0 mm |" in md
    assert "| hand21 | lifter (shipped), without mirror averaging | 5.0 mm |" in md
    assert "Per-landmark strict error, hand21, clean, lifter (shipped) (mm):" in md
    assert short_method("flat (zero depth)") == "flat (zero depth)" and rows[0]["method"] == SHIPPED
    assert not to_markdown({"models": {}, "results": rows[2:]}).startswith("*")        # no legend where not used


@pytest.mark.parametrize("category, setting, option, row", [
    ("chair", "clean", "symmetrize", "without the symmetry refinement"),
    ("face468", "occluded", "shape_basis", "without the shape-basis refinement"),
    ("hand21", "occluded", "bone_lengths", "without the bone-length refinement"),
])
def test_refinement_rows_are_measured_where_they_apply(tmp_path: Path, category: str, setting: str, option: str,
                                                       row: str) -> None:
    """On chairs the row without the symmetry refinement is lift(symmetrize=False), on faces the row without the
    shape-basis refinement lift(shape_basis=False), on hands the row without the bone-length refinement
    lift(bone_lengths=False): measured, not copied."""
    from lifter.api import DEFAULT_WEIGHTS, load_lifter

    data = {"chair": lambda: write_chair_data(tmp_path), "face468": lambda: write_face_data(tmp_path, 20, 3),
            "hand21": lambda: write_hand_data(tmp_path, 20, 4)}[category]()
    report = evaluate(data, {"bundled": DEFAULT_WEIGHTS}, (category,), device="cpu", progress=False)
    rows = {(r["method"], r["setting"]): r for r in report["results"]}
    test = load_test_set(data, category, setting)
    plain = load_lifter(device="cpu").lift(test.points2d, category, test.visible, **{option: False})
    without = rows[(f"bundled, {row}", setting)]
    assert without["strict"] == pytest.approx(score(plain, test)["strict"], abs=1e-9)
    assert without["strict"] != pytest.approx(rows[("bundled", setting)]["strict"], abs=1e-6)


def test_fitted_shape_rows_are_measured_on_faces(tmp_path: Path) -> None:
    """On faces (a shape basis) the first model's fitted-shape rows are lift_with_camera(..., fitted_shape=True)
    with and without the test cameras' intrinsics, each a reading of its own."""
    from lifter.api import DEFAULT_WEIGHTS, load_lifter

    data = write_face_data(tmp_path, 20, 3)
    report = evaluate(data, {"bundled": DEFAULT_WEIGHTS}, ("face468",), device="cpu", progress=False)
    rows = {(r["method"], r["setting"]): r for r in report["results"]}
    lifter = load_lifter(device="cpu")
    for setting in ("clean", "occluded"):
        test = load_test_set(data, "face468", setting)
        known = lifter.lift_with_camera(test.points2d, "face468", test.focal, test.principal, test.visible,
                                        fitted_shape=True)
        guessed = lifter.lift_with_camera(test.points2d, "face468", visible=test.visible, fitted_shape=True)
        for camera, pred in (("with the camera intrinsics", known), ("without intrinsics", guessed)):
            row = rows[(f"bundled, the fitted shape itself {camera} (lift_with_camera(..., fitted_shape=True))",
                        setting)]
            assert row["strict"] == pytest.approx(score(pred, test)["strict"], abs=1e-6) and row["cross_view"] > 0
        assert score(known, test)["strict"] != pytest.approx(
            rows[("bundled, with the camera intrinsics (lift_with_camera)", setting)]["strict"], abs=1e-6)


def test_camera_rows_read_the_main_rows_lift_as_lift_with_camera_does(tiny_data: Path) -> None:
    from lifter.api import load_lifter

    lifter = load_lifter(device="cpu")
    for setting in ("clean", "occluded"):
        test = load_test_set(tiny_data, "hand21", setting)
        memo: dict = {}
        lifter_method(lifter, memo=memo)(test)
        assert len(memo) == 1
        reread = lifter_camera_method(lifter, memo)(test)
        direct = lifter.lift_with_camera(test.points2d, "hand21", test.focal, test.principal, test.visible)
        np.testing.assert_allclose(reread, direct, rtol=1e-5, atol=1e-3)
        # The guessed-camera row reads the same kept lift, as lift_with_camera does without intrinsics.
        guessed = lifter_camera_method(lifter, memo, guessed=True)(test)
        direct_guessed = lifter.lift_with_camera(test.points2d, "hand21", visible=test.visible)
        np.testing.assert_allclose(guessed, direct_guessed, rtol=1e-5, atol=1e-3)
        assert not np.allclose(guessed, direct, rtol=1e-3)
        # Without the main row's lift they lift for themselves, to the same results.
        np.testing.assert_allclose(lifter_camera_method(lifter)(test), direct, rtol=0, atol=0)
        np.testing.assert_allclose(lifter_camera_method(lifter, guessed=True)(test), direct_guessed, rtol=0, atol=0)


def test_every_default_table_model_loads_and_matches_its_label() -> None:
    """The models ``python -m lifter.evaluate`` lists by default exist, pass their SHA-256 check, and are what
    their labels say: the 3D-supervised row is the one model trained on 3D, the identity ablations are
    input-only, and the shipped row is the bundled file."""
    assert DEFAULT_MODELS[SHIPPED] == WEIGHTS_DIR / "lifter.safetensors"
    assert len(set(DEFAULT_MODELS.values())) == len(DEFAULT_MODELS)            # no file listed twice
    for label, path in DEFAULT_MODELS.items():
        record = load_lifter(path, device="cpu").record                         # WeightsError if missing/corrupt
        supervision = record["train_config"]["supervision"]
        assert supervision == ("3d" if label.startswith("3D-supervised") else "2d"), label
        identity = record["model"]["identity"]
        assert identity == ("input_only" if "identity at input only" in label else "every_layer"), label


def test_every_bundled_reference_weights_file_loads_with_its_record() -> None:
    """Every weights file kept under ``assets/weights/reference/`` (the documented recipes and rounds, which
    ``--model LABEL=PATH`` evaluates again) passes its SHA-256 check and records the command that trained it; only
    the 3D-supervised twins were trained on 3D."""
    files = sorted((WEIGHTS_DIR / "reference").glob("*.safetensors"))
    proportions = [f for f in files if f.name == "teacher_hand_proportions.safetensors"]  # bone lengths, not a lifter
    lifters = [f for f in files if f not in proportions]
    assert len(proportions) == 1 and len(lifters) >= 30
    assert {"teacher_rounds6.safetensors", "cpu_teacher_recipe.safetensors"} <= {f.name for f in lifters}
    for path in lifters:
        record = load_lifter(path, device="cpu").record                         # WeightsError if missing/corrupt
        assert record["command"].startswith("python -m lifter.train"), path.name
        assert record["train_config"]["supervision"] == ("3d" if path.name.startswith("supervised_3d") else "2d")


def test_evaluate_cli_refuses_bad_model_words_before_measuring(tiny_data: Path, tmp_path: Path, capsys) -> None:
    from lifter.api import DEFAULT_WEIGHTS
    from lifter.evaluate import main, parse_models

    assert parse_models([f"a={DEFAULT_WEIGHTS}"]) == {"a": DEFAULT_WEIGHTS}
    assert parse_models([f"recipe, SEED=1={DEFAULT_WEIGHTS}"]) == {"recipe, SEED=1": DEFAULT_WEIGHTS}  # = in a label
    for words, message in ((["no-equals-sign"], "LABEL=PATH"), ([f"={DEFAULT_WEIGHTS}"], "LABEL=PATH"),
                           ([f"a={DEFAULT_WEIGHTS}", f"a={DEFAULT_WEIGHTS}"], "given twice"),
                           ([f"a={tmp_path / 'missing.safetensors'}"], "no weights file")):
        with pytest.raises(ValueError, match=message):
            parse_models(words)
        with pytest.raises(SystemExit):
            main(["--data", str(tiny_data), "--out", str(tmp_path / "out")] + [f"--model={w}" for w in words])
        assert message in capsys.readouterr().err
    corrupt = tmp_path / "corrupt.safetensors"         # a damaged file among good ones: refused before any lift
    corrupt.write_bytes(b"not weights")
    corrupt.with_suffix(".json").write_bytes(DEFAULT_WEIGHTS.with_suffix(".json").read_bytes())
    with pytest.raises(SystemExit):
        main(["--data", str(tiny_data), "--out", str(tmp_path / "out"), f"--model=a={DEFAULT_WEIGHTS}",
              f"--model=b={corrupt}"])
    assert f"{corrupt} is corrupted" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_bundled_record_holds_the_benchmark_rows_of_its_weights() -> None:
    """``assets/weights/lifter.json``'s evaluation rows are the shipped lifter's rows of ``results/evaluate.json``
    (``python -m lifter.export --evaluation`` copies them; rerun it after the benchmark changes a shipped figure)."""
    import json

    root = Path(__file__).resolve().parents[1]
    record = json.loads((root / "assets" / "weights" / "lifter.json").read_text())["evaluation"]
    results = json.loads((root / "results" / "evaluate.json").read_text())["results"]
    shipped = {(r["category"], r["setting"]): r for r in results if r["method"] == SHIPPED}
    assert len(record) == len(shipped) == 8
    for row in record:
        table = shipped[row["category"], row["setting"]]
        assert row["method"] == SHIPPED
        for key in ("strict", "flip_best", "median_strict", "per_landmark"):
            assert row[key] == table[key], (row["category"], row["setting"], key)


def _strict(rows: list[dict]) -> list[tuple]:
    """The rows as (category, setting, method, strict): what a resumed run must reproduce (timings differ)."""
    return [(r["category"], r["setting"], r["method"], r["strict"]) for r in rows]


def test_the_models_rows_alone_without_the_reference_rows(tiny_data: Path, tmp_path: Path, capsys) -> None:
    """--no-reference-rows: the same model rows, none of the references; a --categories with no test file in
    --data names the ones there."""
    import lifter.evaluate as ev
    from lifter.api import DEFAULT_WEIGHTS

    models = {"bundled": DEFAULT_WEIGHTS}
    whole = evaluate(tiny_data, models, ("hand21",), device="cpu", progress=False, ablations=False)
    alone = evaluate(tiny_data, models, ("hand21",), device="cpu", progress=False, ablations=False,
                     references=False)
    assert {r["method"] for r in alone["results"]} == {"bundled"}
    assert len({r["method"] for r in whole["results"]}) > 3                 # the references are there by default
    assert _strict(alone["results"]) == pytest.approx(_strict([r for r in whole["results"]
                                                               if r["method"] == "bundled"]))
    with pytest.raises(SystemExit):
        ev.main(["--data", str(tiny_data), "--out", str(tmp_path / "o"), "--categories", "chair"])
    err = capsys.readouterr().err
    assert "no test files of chair in" in err and "(test files there: hand21)" in err


def test_an_interrupted_benchmark_resumes_from_its_finished_blocks(tiny_data: Path, tmp_path: Path, monkeypatch,
                                                                   capsys) -> None:
    import json

    import lifter.evaluate as ev
    from lifter.api import DEFAULT_WEIGHTS
    from lifter.partial_results import PARTIAL_NAME, PartialMismatch

    models = {"bundled": DEFAULT_WEIGHTS}
    whole = evaluate(tiny_data, models, ("hand21",), device="cpu", progress=False, ablations=False)
    out = tmp_path / "out"
    measured = []
    real_score = ev.score

    def interrupted_in_the_second_block(pred, test):          # Ctrl-C while the occluded views are measured
        measured.append(test.setting)
        if test.setting == "occluded":
            raise KeyboardInterrupt
        return real_score(pred, test)

    monkeypatch.setattr(ev, "score", interrupted_in_the_second_block)
    words = ["--data", str(tiny_data), "--out", str(out), f"--model=bundled={DEFAULT_WEIGHTS}", "--categories",
             "hand21", "--no-ablation-rows", "--no-depth-baseline"]
    assert ev.main(words) == 130
    assert "rerun the same command with --resume" in capsys.readouterr().err
    kept = json.loads((out / PARTIAL_NAME).read_text())["blocks"]
    assert [(b["category"], b["setting"]) for b in kept] == [("hand21", "clean")]
    assert not (out / "evaluate.json").exists()
    monkeypatch.setattr(ev, "score", real_score)
    measured.clear()

    def counted(pred, test):
        measured.append(test.setting)
        return real_score(pred, test)

    monkeypatch.setattr(ev, "score", counted)
    assert ev.main(words + ["--resume"]) == 0                  # only the occluded block is measured again
    assert "resuming: 1 finished blocks" in capsys.readouterr().out and set(measured) == {"occluded"}
    resumed = json.loads((out / "evaluate.json").read_text())["results"]
    assert _strict(resumed) == pytest.approx(_strict(whole["results"]))
    assert not (out / PARTIAL_NAME).exists()                   # the whole table is written: nothing left to resume
    assert ev.main(words + ["--resume", "--no-reference-rows", "--force"]) == 0     # so a rerun measures anew
    assert f"--resume: no {out / PARTIAL_NAME}, so nothing to resume" in capsys.readouterr().out
    # Blocks written for other inputs are never mixed in: other weights (a label or a file), other options.
    partial = tmp_path / "partial.json"
    evaluate(tiny_data, models, ("hand21",), device="cpu", progress=False, ablations=False, partial=partial)
    with pytest.raises(PartialMismatch, match="the weights"):
        evaluate(tiny_data, {"other": DEFAULT_WEIGHTS}, ("hand21",), device="cpu", progress=False,
                 ablations=False, partial=partial, resume=True)
    with pytest.raises(PartialMismatch, match="--no-ablation-rows"):
        evaluate(tiny_data, models, ("hand21",), device="cpu", progress=False, partial=partial, resume=True)
    with pytest.raises(PartialMismatch, match="--no-reference-rows"):
        evaluate(tiny_data, models, ("hand21",), device="cpu", progress=False, ablations=False, partial=partial,
                 resume=True, references=False)
    other_out = tmp_path / "other"
    other_out.mkdir()
    (other_out / PARTIAL_NAME).write_bytes(partial.read_bytes())
    with pytest.raises(SystemExit):                            # the command names the file and what to do
        ev.main(["--data", str(tiny_data), "--out", str(other_out), f"--model=other={DEFAULT_WEIGHTS}",
                 "--categories", "hand21", "--no-ablation-rows", "--no-depth-baseline", "--resume"])
    err = capsys.readouterr().err
    assert str(other_out / PARTIAL_NAME) in err and "rerun without --resume" in err


def test_evaluate_cli_names_bad_folders_and_files_and_what_the_table_leaves_out(
        tiny_data: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    import json
    import shutil

    import lifter.evaluate as ev
    from lifter.api import DEFAULT_WEIGHTS
    from lifter.partial_results import PARTIAL_NAME

    words = [f"--model=bundled={DEFAULT_WEIGHTS}", "--categories", "hand21", "--no-ablation-rows",
             "--no-depth-baseline", "--no-reference-rows"]
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    damaged, other_category = tmp_path / "damaged", tmp_path / "other_category"
    damaged.mkdir()
    (damaged / "hand21_test.npz").write_bytes(b"garbage")
    other_category.mkdir()
    with np.load(tiny_data / "hand21_test.npz") as f:
        np.savez(other_category / "hand21_test.npz", **{**{k: f[k] for k in f.files}, "category": np.str_("chair")})
    for data, out, message in ((tmp_path / "nowhere", tmp_path / "o", "is not a folder (it does not exist)"),
                               (tiny_data, a_file, f"{a_file} is a file, not a folder"),
                               (tiny_data, a_file / "sub", f"{a_file} is a file, not a folder"),
                               (damaged, tmp_path / "o1", "hand21_test.npz cannot be read as a data file"),
                               (other_category, tmp_path / "o2", "holds category chair, expected hand21")):
        with pytest.raises(SystemExit):
            ev.main(["--data", str(data), "--out", str(out)] + words)
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    # a category given twice is measured once; what the folder lacks is named (no occluded file, no training file)
    only_clean = tmp_path / "only_clean"
    only_clean.mkdir()
    shutil.copy(tiny_data / "hand21_test.npz", only_clean)
    twice = [f"--model=bundled={DEFAULT_WEIGHTS}", "--categories", "hand21", "hand21", "--no-ablation-rows",
             "--no-depth-baseline", "--no-reference-rows"]
    assert ev.main(["--data", str(only_clean), "--out", str(tmp_path / "twice")] + twice) == 0
    err = capsys.readouterr().err
    assert "no hand21_test_occluded.npz" in err and "no occluded hand21 rows" in err
    rows = json.loads((tmp_path / "twice" / "evaluate.json").read_text())["results"]
    assert len(rows) == len({(r["method"], r["setting"]) for r in rows}) > 0
    assert ev.main(["--data", str(only_clean), "--out", str(tmp_path / "refs")] + words[:-1]) == 0
    assert "no hand21_train.npz" in capsys.readouterr().err                   # no mean-shape or template rows
    # Ctrl-C in the depth-based rows: the lifters' blocks are kept; another command's partial file is not claimed
    import lifter.baselines.benchmark as depth

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(depth, "depth_rows", interrupted)
    out = tmp_path / "depth"
    assert ev.main(["--data", str(tiny_data), "--out", str(out)] + [w for w in words if w != "--no-depth-baseline"]) \
        == 130
    err = capsys.readouterr().err
    assert "interrupted during the depth-based rows" in err and "the 2 finished blocks are kept" in err
    kept = (out / PARTIAL_NAME).read_bytes()
    with pytest.raises(SystemExit):             # another command into that folder would overwrite those blocks
        ev.main(["--data", str(tiny_data), "--out", str(out), f"--model=other={DEFAULT_WEIGHTS}"] + words[1:])
    assert "holds the finished blocks of an interrupted run" in capsys.readouterr().err
    assert (out / PARTIAL_NAME).read_bytes() == kept
    monkeypatch.setattr(ev, "score", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    (out / PARTIAL_NAME).unlink()
    assert ev.main(["--data", str(tiny_data), "--out", str(out), f"--model=other={DEFAULT_WEIGHTS}"] + words[1:]) \
        == 130
    assert "no block had finished" in capsys.readouterr().err


def test_a_smaller_command_does_not_replace_a_fuller_table(tiny_data: Path, tmp_path: Path, capsys) -> None:
    """Into a folder whose evaluate.json holds rows the command would not measure (other categories or lifters,
    depth-based, variant or reference rows it leaves out), the command is refused before measuring anything,
    unless --force: a quick one-category check had replaced the shipped table the app's Benchmark tab reads."""
    import json

    import lifter.evaluate as ev
    from lifter.api import DEFAULT_WEIGHTS

    out = tmp_path / "out"
    out.mkdir()
    table = {"data": "data", "models": {"bundled": "x", "second": "y"},
             "results": [{"method": m, "category": c, "setting": "clean"} for m, c in
                         (("bundled", "hand21"), ("bundled, without mirror averaging", "hand21"),
                          ("second", "chair"), ("flat (zero depth)", "hand21"), ("depth oracle (rendered)", "hand21"))]}
    (out / "evaluate.json").write_text(json.dumps(table))
    assert ev.rows_replaced(out / "evaluate.json", ["hand21", "chair"], {"bundled": 1, "second": 2}, True, True,
                            True) == []
    lost = ev.rows_replaced(out / "evaluate.json", ["hand21"], {"bundled": 1}, False, False, False)
    assert lost == ["categories chair", "1 lifters' rows", "the depth-based rows", "the first lifter's variant rows",
                    "the reference rows"]
    words = ["--data", str(tiny_data), "--out", str(out), f"--model=bundled={DEFAULT_WEIGHTS}", "--categories",
             "hand21", "--no-ablation-rows", "--no-depth-baseline", "--no-reference-rows"]
    with pytest.raises(SystemExit):
        ev.main(words)
    assert "holds a table with rows this command would not measure" in capsys.readouterr().err
    assert json.loads((out / "evaluate.json").read_text()) == table
    assert ev.main(words + ["--force"]) == 0
    assert {r["category"] for r in json.loads((out / "evaluate.json").read_text())["results"]} == {"hand21"}


def test_evaluate_model_words_naming_a_run_or_its_checkpoint_say_how_to_export(tmp_path: Path) -> None:
    from lifter.api import WeightsError
    from lifter.evaluate import parse_models

    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.json").write_text("{}")
    (run / "checkpoint.safetensors").write_bytes(b"")
    with pytest.raises(WeightsError, match="is a training run folder"):
        parse_models([f"a={run}"])
    from lifter.api import weights_record

    with pytest.raises(WeightsError, match="is a training run's checkpoint, not lifter weights: export"):
        weights_record(run / "checkpoint.safetensors")


def test_training_files_are_checked_and_a_test_file_may_lack_its_cameras(tiny_data: Path, tmp_path: Path,
                                                                         capsys) -> None:
    """A training file of another category (the same landmark count) is refused before anything is measured (it
    had given the mean-shape row 44 mm instead of 21 silently), and a test file without its cameras (optional in
    the data contract) gives no cross-view figure instead of a KeyError."""
    import shutil

    import lifter.evaluate as ev
    from lifter.api import DEFAULT_WEIGHTS
    from lifter.views import load_test_set

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(tiny_data / "hand21_test.npz", data)
    with np.load(tiny_data / "hand21_test.npz") as f:
        np.savez(data / "hand21_train.npz", **{**{k: f[k] for k in f.files}, "category": np.str_("chair")})
    with pytest.raises(SystemExit):
        ev.main(["--data", str(data), "--out", str(tmp_path / "o"), f"--model=bundled={DEFAULT_WEIGHTS}",
                 "--categories", "hand21", "--no-ablation-rows", "--no-depth-baseline"])
    err = capsys.readouterr().err
    assert "hand21_train.npz: holds category chair, expected hand21" in err and not (tmp_path / "o").exists()
    bare = tmp_path / "bare"
    bare.mkdir()
    with np.load(tiny_data / "hand21_test.npz") as f:
        np.savez(bare / "hand21_test.npz", **{k: f[k] for k in f.files if k not in ("shape_index", "camera_R")})
    test = load_test_set(bare, "hand21", "clean")
    assert ev.cross_view_consistency(lambda t: t.points3d, bare, test) is None


def test_the_command_with_the_depth_baseline_reports_where_depth_noise_meets_the_lifter(tiny_data: Path,
                                                                                        tmp_path: Path,
                                                                                        capsys) -> None:
    import json

    import lifter.evaluate as ev
    from lifter.api import DEFAULT_WEIGHTS

    out = tmp_path / "out"
    assert ev.main(["--data", str(tiny_data), "--out", str(out), f"--model=bundled={DEFAULT_WEIGHTS}",
                    "--categories", "hand21", "--no-ablation-rows", "--no-reference-rows"]) == 0
    report = json.loads((out / "evaluate.json").read_text())
    assert any(r["method"].startswith("depth") for r in report["results"])
    assert set(report["depth_crossover"]) == {"hand21"} and set(report["depth_crossover"]["hand21"]) == {
        "clean", "occluded"}
    printed = capsys.readouterr().out
    for setting, info in report["depth_crossover"]["hand21"].items():
        assert f"depth-based vs lifter, hand21 {setting}: {info['text']}" in printed
