"""Contract every registered training strategy passes, plus each paper's defining behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from nas.errors import InvalidInput, UnknownName
from nas.train import STRATEGIES, create_strategy, list_strategies
from nas.train.strategies import REORGANIZE, RESET_OPTIMIZER, SNAPSHOT_TEACHER
from nas.train.strategies.base import PhaseSchedule, cosine_factor, max_arch, min_arch
from search_spaces import get_space

SPACE = get_space("ofa-mbv3-cifar")
TOTAL, PER_EPOCH = 200, 20


POOLING = get_space("resnet20-pooling")


def make(name: str, total: int = TOTAL, **options):
    """``name`` on OFA-MobileNetV3-CIFAR, or on the pooling space where it needs an enumerable space (a
    mixture); a fixed-subnet strategy gets the smallest subnet."""
    space = POOLING if name == "balanced-mixture" else SPACE
    arch = min_arch(space) if STRATEGIES.get(name).takes_arch else None
    return create_strategy(name, space, total, PER_EPOCH, arch, **options)


@pytest.fixture(params=list_strategies())
def strategy(request):
    return make(request.param)


def test_registry_lists_the_papers_strategies():
    assert {"progressive-shrinking", "deps", "sandwich"} <= set(list_strategies())
    with pytest.raises(UnknownName, match="progressive-shrinking"):
        create_strategy("bogus", SPACE, TOTAL, PER_EPOCH)


def test_every_step_plans_valid_subnets(strategy):
    for t in range(TOTAL):
        tasks = strategy.plan(t, np.random.default_rng([0, t]))
        assert tasks, f"step {t} has no passes"
        for i, task in enumerate(tasks):
            assert strategy.space.validate(task.arch) == task.arch
            assert task.label_weight > 0 or task.kd_weight > 0
            assert 0 < task.grad_scale <= 1
            if task.teacher == "inplace":
                assert i > 0 and tasks[0].label_weight > 0  # the first pass provides the soft labels
            if task.teacher == "full":
                assert strategy.needs_teacher()


def test_plans_are_a_function_of_the_step_and_seed(strategy):
    for t in (0, TOTAL // 2, TOTAL - 1):
        a = strategy.plan(t, np.random.default_rng([3, t]))
        b = strategy.plan(t, np.random.default_rng([3, t]))
        assert a == b


def test_learning_rate_schedule_is_bounded_and_ends_low(strategy):
    factors = np.array([strategy.lr_factor(t) for t in range(TOTAL)])
    assert np.all(factors >= 0) and np.all(factors <= 1.0 + 1e-9) and factors.max() > 0.5
    assert factors[-1] < 0.05 * factors.max()


def test_phases_are_contiguous_and_actions_only_at_phase_starts(strategy):
    phases = [strategy.phase(t) for t in range(TOTAL)]
    changes = [t for t in range(1, TOTAL) if phases[t] != phases[t - 1]]
    assert len(changes) == len(set(phases)) - 1  # no phase comes back
    for t in range(TOTAL):
        if strategy.actions(t):
            assert t == 0 or phases[t] != phases[t - 1]


def test_state_records_name_and_options(strategy):
    state = strategy.state_dict()
    assert state["name"] == strategy.name and state["options"] == type(strategy).defaults()


@pytest.mark.parametrize("name", list_strategies())
def test_bad_options_are_named(name):
    with pytest.raises(InvalidInput, match="unknown option 'bogus'"):
        make(name, bogus=1)
    key, default = next(iter(STRATEGIES.get(name).defaults().items()))
    with pytest.raises(InvalidInput, match=key):
        make(name, **{key: "abc"})
    with pytest.raises(InvalidInput):
        make(name, total=0)


@pytest.mark.parametrize("name", list_strategies())
def test_a_fixed_subnet_is_given_exactly_when_the_strategy_trains_one(name):
    takes = STRATEGIES.get(name).takes_arch
    with pytest.raises(InvalidInput, match="--arch"):
        create_strategy(name, SPACE, TOTAL, PER_EPOCH, None if takes else min_arch(SPACE))


# ---------------------------------------------------------------------------- the papers
def test_progressive_shrinking_follows_once_for_all():
    ps = create_strategy("progressive-shrinking", SPACE, 590, 10)  # once-for-all's 590 epochs, 1 step each
    expected = {0: "full", 180: "kernel", 300: "depth-1", 325: "depth-2", 445: "expand-1", 470: "expand-2"}
    for t, phase in expected.items():
        assert ps.phase(t) == phase and ps.phase(t - 1) != phase if t else ps.phase(t) == phase
    assert ps.actions(180) == [(RESET_OPTIMIZER,), (SNAPSHOT_TEACHER,)]
    assert ps.actions(445) == [(RESET_OPTIMIZER,), (REORGANIZE, "e", 0)]
    assert ps.actions(470) == [(RESET_OPTIMIZER,), (REORGANIZE, "e", 1)]
    rng = np.random.default_rng(0)
    assert [t.arch for t in ps.plan(0, rng)] == [max_arch(SPACE)]
    kernel = ps.plan(200, rng)
    assert len(kernel) == 1 and kernel[0].teacher == "full" and kernel[0].kd_weight == 1.0
    assert set(kernel[0].arch["e"]) == {6} and set(kernel[0].arch["d"]) == {4}
    depth1 = [t.arch for t in ps.plan(310, rng)]
    assert len(depth1) == 2 and all(set(a["d"]) <= {3, 4} and set(a["e"]) == {6} for a in depth1)
    expand1 = [t.arch for t in ps.plan(450, rng)]
    assert len(expand1) == 4 and all(set(a["e"]) <= {4, 6} for a in expand1)
    seen_e = {e for t in range(471, 590) for task in ps.plan(t, rng) for e in task.arch["e"]}
    assert seen_e == {3, 4, 6}
    # per-phase learning rates: once-for-all's 3e-2 / 2.5e-3 / 7.5e-3 relative to the kernel phase
    assert ps.lr_factor(300) == pytest.approx(1 / 12)
    assert ps.lr_factor(325) == pytest.approx(0.25 / 5)  # depth-2 warms up
    assert ps.lr_factor(330) > ps.lr_factor(325)


def test_deps_trains_the_full_model_alone_then_ramps_epsilon():
    deps = create_strategy("deps", SPACE, 100, 10)
    rng = np.random.default_rng(0)
    for t in range(50):
        assert [task.role for task in deps.plan(t, rng)] == ["max"] and deps.epsilon(t) == 0
    tasks = deps.plan(50, rng)
    assert [t.role for t in tasks] == ["max", "min", "random", "random"]
    assert tasks[1].arch == min_arch(SPACE) and tasks[1].teacher == "inplace" and tasks[1].label_weight == 0
    eps = [deps.epsilon(t) for t in range(50, 62)]
    assert eps[0] == pytest.approx(0.1) and eps[9] == 1.0 and np.all(np.diff(eps) >= 0)
    assert all(t.grad_scale == pytest.approx(0.1) for t in tasks[1:]) and tasks[0].grad_scale == 1.0
    assert deps.phase(49) == "full-warmup" and deps.phase(50) == "shrinking"


def test_sandwich_rule():
    sw = create_strategy("sandwich", SPACE, 10, 5, n_random=3)
    tasks = sw.plan(0, np.random.default_rng(0))
    assert [t.role for t in tasks] == ["max", "min", "random", "random", "random"]
    assert tasks[0].arch == max_arch(SPACE) and tasks[0].label_weight == 1 and tasks[0].kd_weight == 0
    assert all(t.teacher == "inplace" and t.kd_weight == 1 for t in tasks[1:])


def test_phase_schedule_gives_every_phase_a_step():
    sched = PhaseSchedule(["a", "b", "c"], [100, 1, 1], 5)
    assert [sched.phase(t) for t in range(5)] == ["a", "a", "a", "b", "c"]
    assert cosine_factor(0, 10, 2) == 0.5 and cosine_factor(2, 10, 2) == 1.0
