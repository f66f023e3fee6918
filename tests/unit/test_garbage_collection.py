"""core/garbage_collection.py: what is loaded once is frozen out of the collector's passes; its state is kept."""
import gc
import weakref

import pytest

from rolloutctl.core import garbage_collection


@pytest.fixture(autouse=True)
def _unfrozen(monkeypatch):
    monkeypatch.setattr(garbage_collection, "_FROZEN", set())
    yield
    gc.unfreeze()
    gc.enable()


class _Node:
    def __init__(self):
        self.me = self    # a reference cycle: only the cyclic collector can free it


def test_long_lived_pauses_the_collector_then_freezes_what_it_made():
    gc.unfreeze()
    before = gc.get_freeze_count()
    with garbage_collection.long_lived("a"):
        assert not gc.isenabled()
        kept = [_Node() for _ in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + 1000
    assert all(gc.is_tracked(node) for node in kept)


def test_long_lived_leaves_a_disabled_collector_disabled_and_freezes_on_error():
    gc.disable()
    with pytest.raises(RuntimeError), garbage_collection.long_lived("a"):
        raise RuntimeError("a failed parse")
    assert not gc.isenabled()
    assert gc.get_freeze_count() > 0


def test_frozen_objects_are_left_alone_and_young_garbage_is_still_collected():
    gc.unfreeze()
    with garbage_collection.long_lived("a"):
        frozen = _Node()
    frozen_ref = weakref.ref(frozen)
    young = _Node()
    young_ref = weakref.ref(young)
    del frozen, young
    gc.collect()
    assert young_ref() is None          # the cycle made after: collected as before
    assert frozen_ref() is not None     # the frozen cycle: skipped by the collector's passes
    gc.unfreeze()
    gc.collect()
    assert frozen_ref() is None


def test_only_the_first_block_of_a_kind_freezes():
    with garbage_collection.long_lived("dbt project"):
        pass
    gc.unfreeze()
    with garbage_collection.long_lived("dbt project"):   # another project, e.g. a backtest's scratch copy
        assert gc.isenabled()
        dropped = _Node()
    dropped_ref = weakref.ref(dropped)
    del dropped
    gc.collect()
    assert dropped_ref() is None        # not frozen: collected once dropped
    with garbage_collection.long_lived("dbt modules"):  # another kind: frozen the first time
        assert not gc.isenabled()


def test_at_exit_freezes_everything():
    gc.unfreeze()
    gc.disable()                        # no automatic pass may free it before at_exit (the fixture re-enables)
    garbage = _Node()
    garbage_ref = weakref.ref(garbage)
    del garbage
    garbage_collection.at_exit()
    gc.collect()
    assert garbage_ref() is not None    # frozen: the interpreter's last collection has nothing of it to walk
