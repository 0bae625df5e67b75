"""The collector settings a server applies after start-up."""
import gc

from server.gc_tuning import GEN0_THRESHOLD, tune_after_startup


def test_tuning_freezes_start_up_objects_and_raises_the_young_threshold():
    # given
    thresholds = gc.get_threshold()
    try:
        # when
        tune_after_startup()

        # then
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (GEN0_THRESHOLD, thresholds[1], thresholds[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
