"""The hardware popcount every numba kernel of hashbench counts bits with.

numba has no popcount of its own; this intrinsic emits LLVM's ``ctpop``, which becomes ``popcnt``
(or, in vectorized loops, ``vpopcntq`` / a ``vpshufb`` nibble table) on x86 and ``cnt`` on ARM.
One definition serves the index and the evaluator, so both count bits the same way.
"""

from __future__ import annotations

from numba import types
from numba.extending import intrinsic

__all__ = ["popcount64"]


@intrinsic
def popcount64(typingctx, x):
    """Hardware popcount of a uint64, returned as int64 (usable only inside numba code)."""
    if x != types.uint64:
        return None
    sig = types.int64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen
