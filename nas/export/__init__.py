"""Deployable artifacts: TorchScript, torch.export, ONNX and AOTInductor files (BN folded), arch JSON, and
the foreign formats spaces declare (once-for-all's net.config)."""

from .arch_files import arch_file_space, read_arch_file
from .fold import FoldReport, fold_batchnorm
from .runtimes import load_runtime
from .subnet import FORMATS, ExportResult, check_formats, companion_paths, export_subnet

__all__ = ["arch_file_space", "FORMATS", "ExportResult", "FoldReport", "check_formats", "companion_paths",
           "export_subnet", "fold_batchnorm", "load_runtime", "read_arch_file"]
