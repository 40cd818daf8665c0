"""Fractional-order building blocks: scheme kernels and their sum-of-exponentials compression."""

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
    "SCHEMES", "gl_kernel", "kernel", "kernel_at", "l1_kernel", "pi_rectangle_weights",
    "pi_trapezoid_first", "pi_trapezoid_weights",
]
