"""The phase table: built-in phases, registering, looking up."""

from __future__ import annotations

import pickle

import boundarytrace as bt


def test_phases__builtin_ids_names_and_gil_states():
    table = bt.phases()
    assert [int(p) for p in table[:4]] == [0, 1, 2, 3]
    assert [p.name for p in table[:4]] == ["extract", "convert", "network", "materialize"]
    assert [p.gil_held for p in table[:4]] == [True, False, False, True]
    for ours, theirs in zip((bt.EXTRACT, bt.CONVERT, bt.NETWORK, bt.MATERIALIZE), table):
        assert ours == theirs and ours.name == theirs.name and ours.gil_held == theirs.gil_held


def test_phases__register_returns_the_same_phase_twice():
    p1 = bt.register_phase("test_phases.decode", gil_held=True)
    p2 = bt.register_phase("test_phases.decode", True)
    assert p1 == p2 and p1.id == int(p2)
    assert p1.name == "test_phases.decode" and p1.gil_held is True
    assert bt.lookup_phase("test_phases.decode") == p1
    assert bt.lookup_phase(int(p1)).name == "test_phases.decode"
    assert p1 in bt.phases()


def test_phases__phase_is_an_int_and_pickles():
    assert isinstance(bt.CONVERT, int) and bt.CONVERT == 1
    assert repr(bt.CONVERT) == "Phase(1, 'convert', gil_held=False)"
    clone = pickle.loads(pickle.dumps(bt.NETWORK))
    assert clone == bt.NETWORK and clone.name == "network"


def test_phases__total_pseudo_phase():
    assert int(bt.TOTAL) == -1 and bt.TOTAL.gil_held is None
