"""Deployable artifacts: TorchScript / torch.export files, arch JSON, once-for-all net.config."""

from .arch_files import arch_file_space, read_arch_file
from .ofa_net_config import arch_to_net_config, net_config_to_arch, read_net_config
from .subnet import FORMATS, ExportResult, companion_paths, export_subnet

__all__ = ["arch_file_space", "FORMATS", "ExportResult", "companion_paths", "export_subnet", "arch_to_net_config",
           "net_config_to_arch", "read_net_config", "read_arch_file"]
