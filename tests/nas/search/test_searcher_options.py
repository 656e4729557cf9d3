"""Every registered searcher checks the type and range of each option when it is built (one-line InvalidInput)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from nas.cli import app
from nas.search import SEARCHERS
from nas.search._searcher import create_searcher
from nas.search.options import check_options
from search_spaces.errors import InvalidInput

from .toy import SPACE

NAMES = SEARCHERS.names()
SPECS = [(name, option, spec) for name in NAMES for option, spec in SEARCHERS.get(name).option_specs.items()]
NUMERIC = [(name, option, spec) for name, option, spec in SPECS if spec.low is not None]


def rejected(name: str, **options) -> str:
    with pytest.raises(InvalidInput) as info:
        create_searcher(name, SPACE, n_objectives=2, **options)
    message = str(info.value)
    assert "\n" not in message and name in message, message
    return message


@pytest.mark.parametrize("name", NAMES)
def test_every_option_has_a_spec_and_the_defaults_and_presets_pass_it(name):
    cls = SEARCHERS.get(name)
    unchecked = set(cls.defaults) - set(cls.option_specs) - {"features"}  # linas checks features per space
    assert not unchecked, f"give {name}'s options {sorted(unchecked)} an OptionSpec"
    create_searcher(name, SPACE, n_objectives=2)
    for preset in cls.presets.values():  # checked, not built: age-moea's numba import alone takes seconds
        check_options(name, {**cls.defaults, **preset}, cls.option_specs)


@pytest.mark.parametrize("name,option,spec", NUMERIC, ids=[f"{n}.{o}" for n, o, _ in NUMERIC])
def test_numeric_options_reject_a_wrong_type_and_an_out_of_range_value(name, option, spec):
    for wrong in ("abc", [1], True):
        assert f"{option} must be {spec.what}" in rejected(name, **{option: wrong})
    outside = spec.high + 1 if spec.high is not None else spec.low - 1
    assert f"got {outside!r}" in rejected(name, **{option: outside})
    if not spec.optional:
        rejected(name, **{option: None})


@pytest.mark.parametrize("name,option,spec", [s for s in SPECS if s[2].low is None],
                         ids=[f"{n}.{o}" for n, o, s in SPECS if s.low is None])
def test_other_options_reject_a_value_they_do_not_allow(name, option, spec):
    assert f"{option} must be" in rejected(name, **{option: "no-such-value" if option != "study_name" else ""})


@pytest.mark.parametrize("options,message", [
    ({"population": 50.0}, None),  # an integral float is the integer
    ({"mutation_prob": 5}, "mutation_prob must be a number in [0, 1], got 5"),
    ({"parent_ratio": -1}, "parent_ratio must be a number in (0, 1], got -1"),
    ({"parent_ratio": 0}, "parent_ratio must be a number in (0, 1], got 0"),
    ({"population": 2, "parent_ratio": 1, "mutation_ratio": 0}, "evolution breeds no children"),
])
def test_evolution_ratios(options, message):
    if message is None:
        assert create_searcher("evolution", SPACE, n_objectives=1, **options).options["population"] == 50
    else:
        assert message in rejected("evolution", **options)


def test_linas_features_name_the_space_kinds():
    assert "features must be one of onehot, ordinal for space toy, got 'graph'" in rejected("linas", features="graph")


def test_unsga3_needs_a_population_per_objective():
    with pytest.raises(InvalidInput, match="at least the number of objectives"):
        create_searcher("nsga2", SPACE, n_objectives=3, algorithm="unsga3", population=2)


@pytest.mark.parametrize("storage,detail", [
    ("bogus://x", "got 'bogus://x'"),
    ("not a url", "got 'not a url'"),
    ("sqlite:////no/such/folder/optuna.db", "(no folder /no/such/folder)"),
    (5, "got 5"),
])
def test_optuna_storage_names_the_allowed_forms(storage, detail):
    message = rejected("optuna", storage=storage)
    assert "storage must be a database URL (sqlite:///optuna.db" in message and detail in message


def test_optuna_accepts_a_sqlite_url(tmp_path):
    create_searcher("optuna", SPACE, n_objectives=2, storage=f"sqlite:///{tmp_path / 'optuna.db'}")


@pytest.mark.parametrize("searcher,option,message", [
    ("evolution", "population=abc", "evolution option population must be an integer >= 2, got 'abc'"),
    ("evolution", "population=0", "evolution option population must be an integer >= 2, got 0"),
    ("nsga2", "population=abc", "nsga2 option population must be an integer >= 2, got 'abc'"),
    ("optuna", "storage=bogus://x", "optuna option storage must be a database URL"),
])
def test_cli_reports_bad_options_in_one_line_and_writes_nothing(tmp_path, searcher, option, message):
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["search", "--space", "ofa-mbv3", "--target", "macs", "--objective", "macs",
                                      "--objective", "params", "--predictor", "none", "--no-progress",
                                      "--searcher", searcher, "-o", option, "--out", str(run)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.output
    assert not run.exists()


# --------------------------------------------------------------------------------- issue 17
SIZES = [(name, option) for name, option, spec in SPECS if spec.individuals]


def test_every_population_like_option_is_bounded_by_memory():
    assert {("nsga2", "population"), ("evolution", "population"), ("random", "batch_size"),
            ("optuna", "population"), ("linas", "population"), ("linas", "inner_evals")} <= set(SIZES)


@pytest.mark.parametrize("name,option", SIZES, ids=[f"{n}.{o}" for n, o in SIZES])
def test_a_population_beyond_memory_is_refused_when_built(name, option):
    message = rejected(name, **{option: 10**11})
    assert f"{name} option {option}=100000000000 needs about" in message and "this machine has available" in message


def test_search_cli_refuses_a_huge_population_before_the_run_directory(tmp_path):
    result = CliRunner().invoke(app, ["search", "--target", "macs", "--searcher", "nsga2", "-o",
                                      "population=100000000000", "--budget", "20", "--out", str(tmp_path / "run")])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and "TiB of memory" in lines[0], result.output
    assert not (tmp_path / "run").exists()
