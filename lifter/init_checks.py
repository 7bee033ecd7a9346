"""Checks of what a training run starts from (``--init``) and of the refined teacher's file (``--teacher-bones``).

The lifter is trained with 2D supervision only. A run that starts from weights trained with 3D supervision would
carry the 3D ground truth into its own training (the 3D-aware stage makes the ``--init`` model its teacher, whose
lifts are the stage's targets), and so would a teacher's bone proportions fitted to such a model's lifts. These
checks read the records that the weights, run folders and proportions files carry (:func:`lifter.export.init_record`:
every stage a run started from), so :mod:`lifter.train_cli` can refuse such a start in one line and note a start
that never saw a category it is asked to train.
"""

from __future__ import annotations

import json
from pathlib import Path

from lifter.checked_files import record_path
from lifter.export import init_record, lineage
from lifter.train_config import TrainConfig


def lineage_stages(init: Path) -> list[dict]:
    """The training configurations (``train_config`` dicts) of ``init`` (a run folder or exported weights) and of
    every stage it started from, the newest first; stages whose record holds none (a file gone) are left out."""
    return [stage["train_config"] for stage in lineage(init_record(Path(init)))
            if isinstance(stage.get("train_config"), dict)]


def init_problems(init: Path, cfg: TrainConfig) -> tuple[str | None, list[str]]:
    """``(error, notes)`` of starting ``cfg``'s run from ``init``: the error when a 2D-supervised run would start
    from weights one of whose stages was trained with 3D supervision; a note for each category ``cfg`` trains that
    no stage of ``init`` trained (its network knows it from its config only: the 3D-aware stage's teacher lifts it
    to noise)."""
    stages = lineage_stages(init)
    supervised = [i for i, s in enumerate(stages) if s.get("supervision") == "3d"]
    if cfg.supervision == "2d" and supervised:
        which = "it was" if supervised[0] == 0 else f"the stage {supervised[0]} back in its lineage was"
        return (f"{init}: {which} trained with 3D supervision (its record's train_config): a 2D-supervised run must "
                f"not start from it, or the 3D ground truth reaches its training (through the weights, and in the "
                f"3D-aware stage through the teacher's lifts, its targets); start from weights trained with 2D "
                f"supervision only"), []
    trained = {c for s in stages for c in s.get("categories") or ()}
    notes = [f"{init} was never trained on {c} (no stage of its record trains it): its lifts of {c} are noise"
             + (", and they are the 3D-aware stage's targets" if cfg.finetune_3d_aware else "")
             for c in cfg.categories if stages and c not in trained]
    return None, notes


def teacher_bones_problem(path: Path, cfg: TrainConfig, categories_in_file: tuple[str, ...]) -> str | None:
    """Why the refined teacher's proportions ``path`` (holding ``categories_in_file``) cannot teach ``cfg``'s run,
    or None: none of the run's categories is in it (the teacher would do nothing), or its record says they were
    fitted to a lifter trained with 3D supervision (``lifter_supervision``, written by
    :func:`lifter.fitted_priors.fit_command`)."""
    covered = [c for c in cfg.categories if c in categories_in_file]
    if not covered:
        return (f"{path} holds proportions of {', '.join(categories_in_file) or 'no category'}, and this run trains "
                f"{', '.join(cfg.categories)}: the refined teacher would do nothing (fit them with python -m "
                f"lifter.bone_lengths --categories ...)")
    try:
        record = json.loads(record_path(Path(path)).read_text())
    except (OSError, ValueError):
        return None                         # load_proportions has checked the file against its record already
    if cfg.supervision == "2d" and record.get("lifter_supervision") == "3d":
        return (f"{path} was fitted to the lifts of {record.get('lifter', 'a lifter')}, trained with 3D supervision: "
                f"a 2D-supervised run must not be taught by it")
    return None


def record_supervision(record: dict) -> str:
    """``"3d"`` when some stage of a weights ``record`` (and the stages it nests) was trained with 3D supervision,
    else ``"2d"``: what :func:`lifter.fitted_priors.fit_command` records of the lifter it fitted a prior to."""
    return "3d" if any((stage.get("train_config") or {}).get("supervision") == "3d" for stage in lineage(record)
                       if isinstance(stage, dict)) else "2d"
