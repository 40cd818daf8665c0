"""Fractional-order building blocks: scheme kernels and their sum-of-exponentials compression.

``weights``: the convolution kernels ``c_k`` of GL, L1 and the product-integration
predictor/corrector. ``soe``: ``c_k ≈ sum_j β_j λ_j^k`` (k > k0) for the history, O(K) per step.
"""

from .soe import SOEKernel, build_soe_kernel, full_history, soe_history, soe_kernel
from .weights import (
    SCHEMES,
    gl_kernel,
    kernel,
    kernel_at,
    l1_kernel,
    pi_rectangle_weights,
    pi_trapezoid_first,
    pi_trapezoid_weights,
)

__all__ = [
    "SCHEMES", "SOEKernel", "build_soe_kernel", "full_history", "gl_kernel", "kernel",
    "kernel_at", "l1_kernel", "pi_rectangle_weights", "pi_trapezoid_first",
    "pi_trapezoid_weights", "soe_history", "soe_kernel",
]
