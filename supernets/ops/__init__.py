"""Elastic operators: each runs on a prefix of its channels and, for kernels, a transformed crop."""

from .elastic_bn import ElasticBatchNorm2d
from .elastic_conv import ElasticDepthwiseConv, ElasticPointwiseConv
from .elastic_mbconv import ElasticMBConv
from .elastic_se import ElasticSqueezeExcite

__all__ = ["ElasticBatchNorm2d", "ElasticDepthwiseConv", "ElasticPointwiseConv", "ElasticMBConv",
           "ElasticSqueezeExcite"]
