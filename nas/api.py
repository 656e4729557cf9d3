"""The engine's Python API. The CLI only parses arguments, calls these functions and prints."""

from __future__ import annotations

import datetime as _dt
import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from search_spaces import SearchSpace, get_space, list_spaces
from search_spaces.checks import check_seed
from search_spaces.errors import InvalidInput

from . import search as _search  # noqa: F401  (registers searchers)
from .errors import RunDirectoryError
from .io import remove_stale_temps, write_json
from .results import RunDirectory
from .results.summary import results_frame, summarize, write_summary
from .search import Archive, create_searcher, restore_archive, run_search
from .search.assemble import SearchProblem, build_problem
from .search.run import check_limits

__all__ = ["SearchResult", "search", "space_info", "export", "analyze", "load_run", "DEFAULT_BUDGET", "MEASURED_BUDGET"]

DEFAULT_BUDGET = 10_000
MEASURED_BUDGET = 50  # subnets, when accuracy is measured on a trained supernet (seconds each on CPU)
MEASURED_POPULATION = 10  # LINAS population then: several predictor-guided generations within the budget


@dataclass
class SearchResult:
    space: str
    objectives: list[tuple[str, str]]
    constraints: list[str]
    pareto: pd.DataFrame
    best: dict
    sources: dict[str, str]
    searcher: str
    stopped: str
    generations: int
    elapsed_s: float
    run_dir: Path | None = None
    notes: list[str] = field(default_factory=list)
    archive: Archive | None = field(default=None, repr=False)  # every evaluated subnet, as arrays
    evaluator: Any = field(default=None, repr=False)

    @property
    def evaluated(self) -> int:
        return len(self.archive) if self.archive is not None else 0

    @functools.cached_property
    def results(self) -> pd.DataFrame:
        """Every evaluated subnet as results.csv's rows, built on first use (a million rows take gigabytes)."""
        return results_frame(self.archive.space, self.archive, self.evaluator)


def space_info(name: str | None = None) -> list[dict]:
    """Registered spaces with their dimensions and sizes."""
    names = [name] if name else list_spaces()
    out = []
    for n in names:
        s = get_space(n)
        out.append({
            "name": s.name,
            "description": s.description,
            "size": s.size,
            "genes": s.n_genes,
            "choices": [{"key": c.key, "count": c.count, "options": list(c.options), "doc": c.doc} for c in s.choices],
        })
    return out


def _measured_accuracy(checkpoint: str | Path | None, data: str | Path | None, space: str | None,
                       options: Mapping[str, Any] | None, workers: int | None = None,
                       ray_address: str | None = None):
    """The measured-accuracy objective (or None), checking that checkpoint and data come together."""
    if checkpoint is None and data is None:
        extra = {**(options or {}), **({"workers": workers} if workers is not None else {}),
                 **({"ray_address": ray_address} if ray_address is not None else {})}
        if extra:
            flags = ", ".join(f"--{k.replace('_', '-')}" for k in extra)
            raise InvalidInput(f"{flags}: only for accuracy measured on a trained supernet; "
                               "pass --checkpoint and --data too")
        return None
    if checkpoint is None or data is None:
        raise InvalidInput("measured accuracy needs both --checkpoint (a trained supernet) and --data (its images)")
    from .evaluate.objective import measured_accuracy_objective

    allowed = {"split", "bn_images", "eval_images", "batch_size", "device"}
    unknown = sorted(set(options or {}) - allowed)
    if unknown:
        raise InvalidInput(f"unknown measurement option {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")
    if ray_address is not None and workers is None:
        raise InvalidInput("--ray-address says where the --workers run: pass --workers K too")
    return measured_accuracy_objective(checkpoint, data, space=space, workers=workers, ray_address=ray_address,
                                       **dict(options or {}))


def search(space: str | None = None, target: str | None = None, *, constraints: Iterable[str] = (),
           searcher: str | None = None, searcher_options: Mapping[str, Any] | None = None, preset: str | None = None,
           budget: int | None = None, generations: int | None = None, seed: int | None = None,
           predictor: str | Path | None = None, checkpoint: str | Path | None = None, data: str | Path | None = None,
           measure_options: Mapping[str, Any] | None = None, objectives: list[str] | None = None,
           out: str | Path | None = None, resume: str | Path | None = None, workers: int | None = None,
           ray_address: str | None = None,
           on_generation: Callable[[int, Archive, SearchProblem], None] | None = None) -> SearchResult:
    """Search ``space`` for the best subnets on ``target`` and (with ``out``) write a run directory.

    ``target`` defaults to ``macs`` and ``seed`` to 0. Accuracy comes from ``predictor`` (default: the
    shipped one), or, with ``checkpoint`` and ``data``,
    is measured: each subnet of the trained supernet is extracted, BN-recalibrated and evaluated
    (top-1 on the held-out split; ``measure_options``: split, bn_images, eval_images, batch_size,
    device). Measuring is slow, so the budget then defaults to ``MEASURED_BUDGET`` subnets and the
    searcher to LINAS. ``space`` defaults to the checkpoint's space (else ofa-mbv3). ``workers``
    measures on that many Ray actors (on the cluster at ``ray_address``, else a local Ray): the run
    directory is the same as with one, so neither is recorded and a resume may change them.
    ``resume`` continues the run in that directory from its last completed generation, with the
    setup recorded there (other options must agree with it; ``budget`` and ``generations`` may grow
    or shrink it); with the same seed it ends exactly where an uninterrupted run ends.
    """
    run_dir: RunDirectory | None = None
    measured = None
    try:
        if resume is not None:
            run_dir = RunDirectory.open(resume, write=True)  # one writer: a second resume is refused
            remove_stale_temps(run_dir.path)  # left by the killed run while it wrote a file
            cfg = _recorded_setup(run_dir)
            _check_resume_options(cfg, run_dir, space=space, target=target, constraints=list(constraints) or None,
                                  searcher=searcher, searcher_options=dict(searcher_options or {}) or None,
                                  preset=preset, seed=seed, objectives=objectives, predictor=predictor,
                                  checkpoint=checkpoint, out=out)
            space, target, constraints = cfg["space"], cfg["target"], cfg["constraints"]
            searcher, searcher_options, preset = cfg["searcher"], cfg["searcher_options"], cfg.get("preset")
            seed, objectives, predictor = cfg["seed"], cfg["objectives"], cfg["predictor"] or "none"
            generations = generations if generations is not None else cfg.get("generations")
            budget = budget if budget is not None else cfg["budget"]
            measured_cfg = cfg.get("measured") or {}
            checkpoint, data = measured_cfg.get("checkpoint"), measured_cfg.get("data")
            measure_options = measured_cfg.get("options")
        elif predictor is not None and checkpoint is not None:
            raise InvalidInput("pass either --predictor or --checkpoint with --data (measured accuracy), not both")
        measured = _measured_accuracy(checkpoint, data, space, measure_options, workers, ray_address)
        notes: list[str] = []
        if measured is not None:
            space = measured.metadata["space"]
            if budget is None:
                budget = MEASURED_BUDGET
                notes.append(f"measured accuracy is slow (every subnet is extracted, BN-recalibrated and evaluated): "
                             f"the budget defaults to {MEASURED_BUDGET} subnets; pass --budget for more")
        space = space or "ofa-mbv3"
        target = target or "macs"
        seed = 0 if seed is None else seed
        check_seed(seed)
        budget = DEFAULT_BUDGET if budget is None else budget
        check_limits(budget, generations)  # before the run directory is created
        constraints = list(constraints)
        problem = build_problem(space, target, constraints, predictor, objectives, accuracy=measured)
        problem.notes[:0] = notes
        space_obj: SearchSpace = problem.space
        evaluator = problem.evaluator
        searcher_options = dict(searcher_options or {})
        if searcher is None and resume is None and space_obj.size <= budget:
            searcher, budget = "random", int(space_obj.size)
            searcher_options.setdefault("batch_size", int(np.prod(space_obj.n_options.astype(float))))
            problem.notes.append(f"{space_obj.name} has {space_obj.size} subnets, within the budget: every one is "
                                 "evaluated once (exhaustive; pass --searcher to search instead)")
        choice = None
        if searcher is None and resume is None:  # chosen by what the objectives cost (benchmark numbers in the reason)
            from .search.auto_searcher import choose_searcher

            cheap = measured is None and not any(o.expensive for o in evaluator.objectives)
            choice = choose_searcher(space_obj, cheap=cheap, constrained=bool(problem.constraints), budget=budget,
                                     n_objectives=len(evaluator.objectives))
            searcher = choice.name
            for key, value in choice.options.items():
                searcher_options.setdefault(key, value)
            problem.notes.append(f"searcher: {choice.reason}")
        if measured is not None and searcher == "linas" and resume is None:
            # LINAS's DyNAS-T population (50) would spend a small budget on one random generation
            searcher_options.setdefault("population", max(2, min(MEASURED_POPULATION, budget // 3)))
            searcher_options.setdefault("inner_population", 50)
        config = {
            "space": space_obj.name, "target": target, "constraints": constraints,
            "objectives": evaluator.objective_names, "searcher": searcher, "searcher_options": searcher_options,
            "preset": preset, "seed": seed, "budget": budget, "generations": generations,
            "searcher_choice": choice.reason if choice else None,
            "predictor": problem.predictor_ref, "metrics": evaluator.metric_names,
            "measured": None if measured is None else {
                "checkpoint": measured.metadata["checkpoint"],
                "data": str(Path(data).resolve()) if Path(data).exists() else str(data),
                "options": dict(measure_options or {})},
            "sources": problem.sources, "restrictions": problem.restrictions, "layout": space_obj.layout_signature(),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        strategy = create_searcher(
            searcher, space_obj, n_objectives=len(evaluator.objectives), seed=seed, preset=preset,
            is_feasible=evaluator.is_feasible if problem.constraints and evaluator.cheap_constraints else None,
            **searcher_options)
        strategy.check_budget(budget)  # e.g. a BO searcher's budget within its random initial design
        archive = None
        if resume is not None:
            if cfg.get("layout") != space_obj.layout_signature():
                raise RunDirectoryError(f"{resume} was made for another space than {space_obj.name}")
            state = run_dir.load_state()
            if state is not None:
                archive = restore_archive(space_obj, evaluator, run_dir, state)
                strategy.load_state_dict(state["searcher"])
            else:  # killed before its first generation was saved: start over, as a resumed searcher (Optuna's journal)
                strategy.load_state_dict(strategy.state_dict())
            if (budget, generations) != (cfg["budget"], cfg.get("generations")):
                write_json(run_dir.file(run_dir.CONFIG), {**cfg, "budget": budget, "generations": generations})
        elif out is not None:
            run_dir = RunDirectory.create(out, config)
        else:
            run_dir = None
        start = time.perf_counter()
        try:
            outcome = run_search(space_obj, evaluator, strategy, budget=budget, max_generations=generations,
                                 run_dir=run_dir, archive=archive,
                                 on_generation=(lambda g, a: on_generation(g, a, problem)) if on_generation else None)
        except BaseException:
            if run_dir is not None and resume is None:
                run_dir.discard_unstarted()  # a run that saved no generation holds nothing worth resuming
            raise
        elapsed = time.perf_counter() - start
        return _finish(problem, outcome.archive, strategy.name, outcome.stopped, outcome.generations, elapsed, run_dir)
    finally:
        if measured is not None and measured.release is not None:
            measured.release()  # the Ray actors, when measuring on them
        if run_dir is not None:
            run_dir.release()  # the lock: held from open or create until the summaries are written


def _finish(problem: SearchProblem, archive: Archive, searcher: str, stopped: str, generations: int, elapsed: float,
            run_dir: RunDirectory | None) -> SearchResult:
    summary = summarize(problem, archive)  # from the archive's arrays: no table of every subnet
    objectives = [(o.name, o.direction) for o in problem.evaluator.objectives]
    result = SearchResult(problem.space.name, objectives, [str(c) for c in problem.constraints], summary.front,
                          summary.best, problem.sources, searcher, stopped, generations, elapsed, None, problem.notes,
                          archive, problem.evaluator)
    if run_dir is not None:
        result.run_dir = run_dir.path
        write_summary(run_dir, summary, problem, archive,
                      title=f"{problem.space.name} on {problem.target.name} ({searcher}, {len(archive)} subnets)",
                      constraints=problem.constraints)
    return result


# what config.json must hold, by type, for a resume to rebuild the run
_RECORDED = {"space": str, "target": str, "constraints": list, "searcher": str, "searcher_options": dict,
             "seed": int, "objectives": list, "budget": int, "predictor": (str, type(None)),
             "preset": (str, type(None)), "generations": (int, type(None)), "measured": (dict, type(None))}


def _recorded_setup(run_dir: RunDirectory) -> dict:
    """The run's config.json, checked so that a damaged one is one clear error, not a traceback later."""
    cfg = run_dir.config
    where = run_dir.file(run_dir.CONFIG)
    if not isinstance(cfg, dict):
        raise RunDirectoryError(f"{where} is damaged: it holds a {type(cfg).__name__}, not the run's settings")
    for key, kind in _RECORDED.items():
        if key not in cfg and key in ("preset", "generations", "measured"):
            continue  # written only by newer versions, or optional
        if key not in cfg:
            raise RunDirectoryError(f"{where} lacks '{key}'; it was not written by nas search")
        value = cfg[key]
        if not isinstance(value, kind) or isinstance(value, bool) or (
                isinstance(value, list) and not all(isinstance(v, str) for v in value)):
            raise RunDirectoryError(f"{where} is damaged: '{key}' is {value!r}; restore it or start a new run")
    return cfg


def _check_resume_options(cfg: dict, run_dir: RunDirectory, **given: Any) -> None:
    """A resumed run keeps its recorded setup: an option passed with it that says otherwise is refused."""
    for name, value in given.items():
        if value is None:
            continue
        if name == "out":
            if Path(value).resolve() != run_dir.path.resolve():
                raise InvalidInput(f"--out {value} differs from the run being resumed ({run_dir.path}); "
                                   f"pass only --resume")
            continue
        recorded = (cfg.get("measured") or {}).get("checkpoint") if name == "checkpoint" else cfg.get(name)
        same = value == recorded
        if name == "space":
            same = recorded == value or _narrows(str(recorded), str(value))  # narrowed by the predictor or target
        elif name in ("predictor", "checkpoint") and recorded not in (None, "shipped"):
            same = same or str(Path(value).resolve()) == recorded
        elif name == "predictor":
            same = same or (value in ("shipped", "default") and recorded == "shipped") or \
                (value == "none" and recorded is None)
        if not same:
            flags = {"searcher_options": "option", "constraints": "constraint", "objectives": "objective"}
            flag = flags.get(name, name)
            raise InvalidInput(f"--{flag} {value} differs from the run being resumed ({recorded}); "
                               f"a resumed run keeps its setup: drop --{flag} or start a new run")


def _narrows(recorded: str, given: str) -> bool:
    """Whether the recorded space is ``given`` restricted further (by the accuracy source or the target)."""
    from search_spaces.errors import NasError

    try:
        narrowed = get_space(given).intersect(get_space(recorded))
    except NasError:
        return False
    return narrowed.name == recorded


def load_run(path: str | Path) -> dict:
    """A finished run's config, best subnets and tables."""
    run = RunDirectory.open(path)
    if not run.file(run.BEST).is_file():
        raise RunDirectoryError(f"{run.path} has no {run.BEST}: the search did not finish (resume it with --resume)")
    from .io import read_json

    return {"config": run.config, "best": read_json(run.file(run.BEST)), "results": run.read_results(),
            "path": run.path}


def export(out: str | Path, *, space: str | None = None, arch: Mapping[str, Any] | None = None,
           run: str | Path | None = None, checkpoint: str | Path | None = None,
           formats: Iterable[str] = ("torchscript",),
           calibration: Iterable | None = None, calibration_images: int = 2000,
           data: str | Path | None = None):
    """Export one subnet (given as ``arch``, or the best subnet of search run ``run``) as deployable files in
    ``formats`` (``nas.export.FORMATS``: torchscript, pt2, onnx, aoti, fused), BN folded into the convs.

    With ``data`` (the images the checkpoint was trained on), BN statistics are recalibrated on
    ``calibration_images`` training images at the subnet's input size, normalized as in training.
    """
    from supernets import create_supernet
    from supernets.checkpoint import load_supernet

    from .export import check_formats, companion_paths, export_subnet

    companion_paths(out, None)  # a bad --out, an unknown format or a missing runtime is refused before loading
    formats = check_formats(formats)
    meta: dict[str, Any] = {}
    if run is not None:
        info = load_run(run)
        best = info["best"].get("best")
        if best is None:
            raise InvalidInput(f"search run {run} found no subnet that satisfies its constraints; nothing to export")
        space = space or info["config"]["space"]
        arch = best["arch"]
        meta.update({"run": str(Path(run).resolve()), "predicted": best["values"]})
    if space is None or arch is None:
        raise InvalidInput("export needs --space and --arch, or --run RUN")
    if data is not None and checkpoint is None:
        raise InvalidInput("--data recalibrates a trained supernet's BN statistics: it needs --checkpoint")
    if data is not None and calibration is not None:
        raise InvalidInput("pass either calibration batches or data, not both")
    space_obj = get_space(space)
    if checkpoint is not None:
        supernet, ckpt_meta = load_supernet(checkpoint, space_obj.family)
        meta["checkpoint"] = str(Path(checkpoint).resolve())
    else:
        supernet = create_supernet(space_obj.family)
        meta["checkpoint"] = None
        meta["warning"] = "no checkpoint: weights are randomly initialized (structure-only export)"
    from search_spaces.quantization import QuantizedSpace

    if isinstance(space_obj, QuantizedSpace):
        from .quantize.export import export_as_asked

        return export_as_asked(supernet, space_obj, arch, out, formats, calibration, calibration_images, data,
                              ckpt_meta if checkpoint is not None else None)
    if data is not None:
        from .evaluate.evalset import calibration_batches

        size = supernet.input_size(supernet.space.validate(dict(arch)))
        calibration = calibration_batches(data, meta=ckpt_meta, size=size, n_images=calibration_images)
        meta["calibration_data"] = str(data)
    return export_subnet(supernet, arch, out, formats=formats, calibration=calibration,
                         calibration_images=calibration_images, metadata=meta)


def analyze(space: str | SearchSpace | None = None, arch: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None = None,
            *, run: str | Path | None = None, top: int | None = None, batch: int = 1, threads: int = 1,
            runtimes: Iterable[str] = ("eager", "torchscript"), warmup: int = 5, repeats: int = 20,
            flush_mb: float | None = None, layers: bool = True, remeasure: bool = False, gemm_n: int = 2048,
            copy_mib: float = 256, peak_repeats: int = 5, out: str | Path | None = None,
            progress: Callable[[str], None] | None = None):
    """Efficiency-gap and waterline analysis (after Lavin, arXiv 2404.03617) of ``arch`` (one or several)
    or of search run ``run``'s best subnet (``top``: its first K front subnets) on this CPU.

    Measures (or reads cached) peak fp32 GEMM FLOP/s and copy bandwidth at ``threads``; per op of each
    subnet (and per layer kernel of its blocks, with ``layers``) counts MACs and bytes, its roofline-ideal
    time layer by layer and block-fused, and times it alone in each of ``runtimes``; times each subnet
    end to end; with ``out`` writes analysis.json, kernels.csv, efficiency_gap.png and waterline.png.
    Returns a ``nas.hardware.efficiency.Analysis`` (``to_json()`` is analysis.json's content); the
    definitions are in ``nas.hardware.efficiency``'s docstring.
    """
    from .hardware.efficiency import analyze as _analyze

    return _analyze(space, arch, run=run, top=top, batch=batch, threads=threads, runtimes=runtimes, warmup=warmup,
                    repeats=repeats, flush_mb=flush_mb, layers=layers, remeasure=remeasure, gemm_n=gemm_n,
                    copy_mib=copy_mib, peak_repeats=peak_repeats, out=out, progress=progress)
