"""The training configuration's checks and record (:mod:`lifter.train_config`) in closed form: each setting a run
cannot train with is named, old records read with the defaults they were made with, the round-robin schedule."""

from __future__ import annotations

import dataclasses
import math

import pytest

from lifter.finetune import FinetuneConfig
from lifter.train_config import (TrainConfig, check_ema_decays, check_symmetry_categories, check_template_weights,
                                 config_from_dict, step_schedule)


@pytest.mark.parametrize("change, message", [
    ({"steps": 2.5}, "steps must be a whole number >= 1, got 2.5"),
    ({"weight_decay": math.nan}, "weight_decay must be a finite number >= 0, got nan"),
    ({"cycle_weight": math.inf}, "cycle_weight must be a finite number >= 0, got inf"),
    ({"distance_range": (6.0, 3.0)}, "distance_range must be 0 < near <= far, got (6.0, 3.0)"),
    ({"cycle_reading": "fisheye"}, "cycle_reading must be one of ('orthographic', 'perspective'), got 'fisheye'"),
    ({"finetune": FinetuneConfig(views=0)}, "finetune.views must be a whole number >= 1, got 0"),
])
def test_a_setting_a_run_cannot_train_with_is_named(change: dict, message: str) -> None:
    TrainConfig().check()                                                # the defaults train
    with pytest.raises(ValueError) as e:
        dataclasses.replace(TrainConfig(), **change).check()
    assert str(e.value) == message


def test_an_old_record_reads_with_the_defaults_it_was_made_with() -> None:
    record = dataclasses.asdict(TrainConfig(category_weights=(("human17", 2),)))
    for key in ("ema_warmup", "bf16_attention"):
        del record[key]
    record["category_weights"] = [["human17", 2.0]]                      # as JSON gives it back
    cfg = config_from_dict(record)
    assert cfg.ema_warmup == "tf" and cfg.bf16_attention == "fp32"
    assert cfg.category_weights == (("human17", 2),) and isinstance(cfg.category_weights[0][1], int)


def test_the_schedule_spreads_each_category_by_its_weight_in_the_given_order() -> None:
    assert step_schedule(("human17", "hand21", "chair"), (("human17", 2),)) == ("human17", "hand21", "chair",
                                                                                "human17")
    assert step_schedule(("a", "b")) == ("a", "b")                     # ties: the order given
    with pytest.raises(ValueError, match="whole numbers >= 1"):
        step_schedule(("a", "b"), (("a", 0),))


def test_the_priors_settings_are_refused_where_they_cannot_apply() -> None:
    with pytest.raises(ValueError, match=r"template weights must be > 0, got \{'human17': 0.0\}"):
        check_template_weights(("human17",), (("human17", 0.0),))
    check_template_weights(("human17",), (("human17", 0.5),))
    with pytest.raises(ValueError, match="the symmetry prior is off"):
        check_symmetry_categories(("human17",), ("human17",), 0.0)
    with pytest.raises(ValueError, match=r"\['hand21'\] have no mirror pairs"):
        check_symmetry_categories(("human17", "hand21"), ("hand21",), 1.0)
    with pytest.raises(ValueError, match="a category named twice"):
        check_symmetry_categories(("human17",), ("human17", "human17"), 1.0)
    assert check_symmetry_categories(("human17", "chair"), ("chair",), 1.0) == ("chair",)
    with pytest.raises(ValueError, match="distinct numbers between 0 and 1"):
        check_ema_decays((0.99, 0.99))
    with pytest.raises(ValueError, match="unknown weight-average warm-up 'slow'"):
        check_ema_decays((0.99,), "slow")
    check_ema_decays((0.99, 0.999), "tf")
