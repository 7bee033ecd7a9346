"""What a training run starts from is checked: never weights trained with 3D supervision (nor a teacher's
proportions fitted to them), the network it keeps, the categories it never saw, and the teacher's file on resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from data_files import write_hand_data
from lifter.checked_files import record_path
from lifter.init_checks import init_problems, lineage_stages, record_supervision, teacher_bones_problem
from lifter.train import main as train_main
from lifter.train_config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
TEACHER_HANDS = ROOT / "assets" / "weights" / "reference" / "teacher_hand_proportions.safetensors"
SUPERVISED_3D = ROOT / "assets" / "weights" / "reference" / "supervised_3d.safetensors"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[list[str], Path, Path]:
    """A tiny hands-only run trained with 2D supervision and one with 3D supervision, and the options they share."""
    root = tmp_path_factory.mktemp("init_checks")
    data = write_hand_data(root / "data", 300, 20)
    tiny = ["--data", str(data), "--categories", "hand21", "--dim", "32", "--depth", "1", "--heads", "2",
            "--batch-tokens", str(16 * 21), "--quiet"]
    train_main(tiny + ["--out", str(root / "two_d"), "--steps", "2"])
    train_main(tiny + ["--out", str(root / "three_d"), "--steps", "2", "--supervision", "3d"])
    return tiny, root / "two_d", root / "three_d"


def test_no_2d_supervised_run_starts_from_3d_supervision(runs, tmp_path: Path, capsys) -> None:
    tiny, two_d, three_d = runs
    for extra in ([], ["--finetune-3d-aware", "--warmup", "1"]):
        with pytest.raises(SystemExit):
            train_main(tiny + ["--out", str(tmp_path / "x"), "--steps", "1", "--init", str(three_d), *extra])
        assert "it was trained with 3D supervision" in capsys.readouterr().err
    # ... nor from a run that started from one, however far back
    train_main(tiny + ["--out", str(tmp_path / "child"), "--steps", "1", "--init", str(three_d), "--supervision", "3d"])
    with pytest.raises(SystemExit):
        train_main(tiny + ["--out", str(tmp_path / "y"), "--steps", "1", "--init", str(tmp_path / "child")])
    assert "was trained with 3D supervision" in capsys.readouterr().err
    assert [s["supervision"] for s in lineage_stages(tmp_path / "child")] == ["3d", "3d"]
    with pytest.raises(SystemExit):                                   # the exported 3D-supervised reference
        train_main(tiny[:4] + ["--out", str(tmp_path / "z"), "--init", str(SUPERVISED_3D)])
    assert "supervised_3d.safetensors: it was trained with 3D supervision" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_main(tiny + ["--out", str(tmp_path / "w"), "--init", str(two_d), "--finetune-3d-aware",
                           "--supervision", "3d"])
    assert "--finetune-3d-aware is a 2D-supervised stage" in capsys.readouterr().err
    with pytest.raises(SystemExit):                   # options 3D supervision does not train with: refused, named
        train_main(tiny + ["--out", str(tmp_path / "v"), "--supervision", "3d", "--cycle-weight", "7",
                           "--learned-elevation"])
    assert "--cycle-weight, --learned-elevation set what 2D supervision trains with" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in "xyzwv")
    assert train_main(tiny + ["--out", str(tmp_path / "ok"), "--steps", "1", "--init", str(two_d)]) == 0


def test_an_init_keeps_its_network_and_categories_it_never_trained_are_said(runs, tmp_path: Path, capsys) -> None:
    tiny, two_d, _ = runs
    with pytest.raises(SystemExit):
        train_main(tiny + ["--out", str(tmp_path / "x"), "--init", str(two_d), "--dim", "64"])
    err = capsys.readouterr().err
    assert "keeps its own network, and this command asks for another: --dim 64 (its network's: 32)" in err
    error, notes = init_problems(two_d, TrainConfig(categories=("hand21", "chair")))
    assert error is None and len(notes) == 1 and "was never trained on chair" in notes[0]
    assert init_problems(two_d, TrainConfig(categories=("hand21",))) == (None, [])


def test_the_teachers_proportions_must_cover_the_run_and_come_from_2d_supervision(tmp_path: Path) -> None:
    hands = ("hand21",)
    said = teacher_bones_problem(TEACHER_HANDS, TrainConfig(categories=("human17",)), hands)
    assert said is not None and "holds proportions of hand21, and this run trains human17" in said
    assert teacher_bones_problem(TEACHER_HANDS, TrainConfig(categories=("hand21", "human17")), hands) is None
    copy = tmp_path / "bones.safetensors"
    shutil.copy(TEACHER_HANDS, copy)
    record = json.loads(record_path(TEACHER_HANDS).read_text())
    record_path(copy).write_text(json.dumps({**record, "lifter_supervision": "3d"}))
    said = teacher_bones_problem(copy, TrainConfig(categories=hands), hands)
    assert said is not None and "trained with 3D supervision" in said
    assert record_supervision(json.loads(record_path(SUPERVISED_3D).read_text())) == "3d"
    assert record_supervision(json.loads(record_path(ROOT / "assets" / "weights" / "lifter.json").read_text())) == "2d"


def test_resume_refuses_a_teacher_file_that_changed(runs, tmp_path: Path, capsys) -> None:
    tiny, two_d, _ = runs
    bones = tmp_path / "bones.safetensors"
    shutil.copy(TEACHER_HANDS, bones)
    shutil.copy(record_path(TEACHER_HANDS), record_path(bones))
    ft = tiny + ["--out", str(tmp_path / "ft"), "--init", str(two_d), "--finetune-3d-aware", "--warmup", "1",
                 "--teacher-bones", str(bones)]
    train_main(ft + ["--steps", "1"])
    assert json.loads((tmp_path / "ft" / "checkpoint.json").read_text())["teacher_bones_sha256"]
    other = ROOT / "assets" / "weights" / "bone_proportions.safetensors"           # hands too, other ratios
    shutil.copy(other, bones)
    shutil.copy(record_path(other), record_path(bones))
    with pytest.raises(SystemExit):
        train_main(ft + ["--steps", "2", "--resume"])
    assert "is not the teacher's proportions file the run in" in capsys.readouterr().err
