"""Deployable artifacts: TorchScript / torch.export files, arch JSON, and the foreign formats spaces
declare (once-for-all's net.config)."""

from .arch_files import arch_file_space, read_arch_file
from .subnet import FORMATS, ExportResult, companion_paths, export_subnet

__all__ = ["arch_file_space", "FORMATS", "ExportResult", "companion_paths", "export_subnet", "read_arch_file"]
