"""Run directories, result tables and plots."""

from .plots import plot_pareto
from .run_dir import RunDirectory
from .tables import best_subnets, genomes_from_results, pareto_table, results_rows, to_dynast

__all__ = ["RunDirectory", "plot_pareto", "best_subnets", "genomes_from_results", "pareto_table", "results_rows",
           "to_dynast"]
