"""A seeded catalogue of benign image edits, and named suites of them.

``get(kind, **params)`` builds one transform (``get("jpeg", quality=40)``); a new kind is a
Transform subclass decorated with ``@register("kind")`` (see docs/extending.md); ``get_suite(name)``
a built-in suite (default, geometric, photometric, overlay, dihedral, isc);
``build_suite(entries)`` one from a run configuration; ``apply_suite(image, suite, seed,
item_id)`` applies a suite with per-(item, transform) random streams. Every
:class:`TransformOutput` carries the pixels, the resolved parameters, and for encoders the file
bytes.
"""

from __future__ import annotations

from . import encode, geometric, overlay, photometric  # noqa: F401  (registers the transforms)
from .base import (
    TRANSFORMS,
    Chain,
    Transform,
    TransformOutput,
    available,
    get,
    register,
    resolve_colour,
    run_steps,
    stable_hash,
    transform_rng,
)
from .suites import (
    SUITE_DESCRIPTIONS,
    SUITES,
    RandomChain,
    apply_suite,
    build_suite,
    get_suite,
    isc_pool,
    suite_names,
)

__all__ = [
    "TRANSFORMS",
    "Chain",
    "RandomChain",
    "Transform",
    "TransformOutput",
    "available",
    "get",
    "register",
    "resolve_colour",
    "run_steps",
    "stable_hash",
    "transform_rng",
    "SUITES",
    "SUITE_DESCRIPTIONS",
    "apply_suite",
    "build_suite",
    "get_suite",
    "isc_pool",
    "suite_names",
]
