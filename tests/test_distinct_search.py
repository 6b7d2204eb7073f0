"""The fast distinct search against a plain O(n^2) brute force, at the floor and on a crowded family.

The search (numba cells, float64 prefilter with a margin, :meth:`DistinctSet.add_distinct`'s
batches) must make exactly the decisions of checking every earlier accepted signature with
:func:`difference`, including pairs whose float32 difference is one ulp either side of the floor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from hashbench.datasets.distinct import FLOOR, DistinctSet, _dequantised, difference, signature
from hashbench.datasets.synthetic import distinct_redraws, generate, redraw_search

SIG = 16 * 16 * 3
AT = np.float32(FLOOR)  # the float32 value the criterion compares with (not below itself)
BELOW, ABOVE = np.nextafter(AT, np.float32(0)), np.nextafter(AT, np.float32(3))


def _cell_terms(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    d = (_dequantised(x) - _dequantised(y)).astype(np.float64)
    return np.sqrt((d * d).sum(axis=-1))


def floor_pairs(rng: np.random.Generator) -> dict[np.float32, list[tuple[np.ndarray, np.ndarray]]]:
    """Pairs ``(x, y)`` whose float32 difference is exactly one ulp below, at, or one ulp above
    the floor: ``y`` is moved near the floor one step at a time, then two more one-unit steps
    (in different cells, chosen from all pairs of steps by their float64 effect) land it."""
    out: dict[np.float32, list[tuple[np.ndarray, np.ndarray]]] = {BELOW: [], AT: [], ABOVE: []}
    while min(len(v) for v in out.values()) < 2:
        x = rng.integers(30, 226, SIG).astype(np.int16)
        y = x + rng.integers(-2, 3, SIG)
        while abs(float(difference(x.astype(np.uint8), y.astype(np.uint8))) - FLOOR) > 0.004:
            k = rng.integers(SIG)
            y[k] += np.sign(y[k] - x[k] + 0.5) * (
                1 if difference(x.astype(np.uint8), y.astype(np.uint8)) < FLOOR else -1
            )
        # every one-unit step of one byte, and its effect on the float64 mean
        steps = np.array([(k, s) for k in range(SIG) for s in (-1, 1)])
        base = _cell_terms(x.astype(np.uint8), y.astype(np.uint8))
        moved = np.repeat(y[None], len(steps), axis=0)
        moved[np.arange(len(steps)), steps[:, 0]] += steps[:, 1]
        delta = (_cell_terms(np.repeat(x.astype(np.uint8)[None], len(steps), 0), moved.astype(np.uint8)) - base).sum(1)
        order = np.argsort(delta)
        want = float(AT) - base.mean()
        for a in rng.permutation(len(steps))[:400]:
            if min(len(v) for v in out.values()) >= 2:
                break
            lo = np.searchsorted(delta[order], 256 * (want - 3e-7) - delta[a])
            hi = np.searchsorted(delta[order], 256 * (want + 3e-7) - delta[a])
            for b in order[lo:hi]:
                if steps[a, 0] // 3 == steps[b, 0] // 3:
                    continue  # one cell: the effects do not add
                z = y.copy()
                z[steps[a, 0]] += steps[a, 1]
                z[steps[b, 0]] += steps[b, 1]
                d = difference(x.astype(np.uint8), z.astype(np.uint8))
                if d in out and len(out[d]) < 3:
                    out[d].append((x.astype(np.uint8), z.astype(np.uint8)))
    return out


def brute_redraws(firsts: np.ndarray, redraw: Callable[[int, int], np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """Redraw counts by checking every accepted signature with :func:`difference`; and, per
    index, the first accepted index its first draw was the same picture as (-1: none)."""
    accepted = np.zeros((len(firsts), SIG), np.uint8)
    counts, first_same = np.zeros(len(firsts), np.int32), []
    for i, sig in enumerate(firsts):
        r = 0
        while True:
            hit = np.flatnonzero(difference(accepted[:i], sig) < FLOOR)
            if r == 0:
                first_same.append(int(hit[0]) if len(hit) else -1)
            if not len(hit):
                break
            r += 1
            sig = redraw(i, r)
        accepted[i] = sig
        counts[i] = r
    return counts, first_same


def one_by_one(firsts: np.ndarray, redraw: Callable[[int, int], np.ndarray]) -> tuple[np.ndarray, list[int]]:
    s, counts, first_same = DistinctSet(), np.zeros(len(firsts), np.int32), []
    for i, sig in enumerate(firsts):
        r, hit = 0, s.find(sig)
        first_same.append(hit)
        while hit >= 0:
            r += 1
            sig = redraw(i, r)
            hit = s.find(sig)
        s.add(sig)
        counts[i] = r
    return counts, first_same


def test_the_floor_is_decided_in_float32_exactly():
    """Pairs one ulp below the floor are the same picture; at and one ulp above, not; whichever
    of the pair comes first, alone or in a batch, by ``find`` and by ``add_distinct``."""
    pairs = floor_pairs(np.random.default_rng(5))
    for d, group in pairs.items():
        for x, y in group:
            rows = difference(np.stack([y, x, y, x]), x)  # a row's value does not depend on the batch
            assert rows[0] == rows[2] == d and rows[1] == 0
            for a, b in ((x, y), (y, x)):
                s = DistinctSet()
                s.add(a)
                assert s.find(b) == (0 if d == BELOW else -1), (d, float(difference(a, b)))
                assert DistinctSet().add_distinct(np.stack([a, b])) == (1 if d == BELOW else 2)


def test_the_search_matches_a_brute_force_on_a_crowded_family():
    """1,000 low-detail first draws (flat pictures: crowded cells) with the floor pairs mixed in:
    the redraw counts of the batched search and of find/add one by one are the brute force's,
    and so is the accepted index each same picture is found to repeat."""
    n, size = 1000, (32, 32)
    firsts = [signature(generate("low-detail", i, 7, size)) for i in range(n)]
    pairs = floor_pairs(np.random.default_rng(6))
    planted = [sig for group in pairs.values() for x, y in group for sig in (x, y, y.copy())]
    sigs = np.stack(firsts)
    where = np.random.default_rng(7).choice(n, len(planted), replace=False)
    sigs[where] = planted  # a planted pair's members may meet in any order

    planted_at = set(where.tolist())

    @functools.cache
    def redraw(i: int, r: int) -> np.ndarray:
        if i in planted_at:  # planted draws are redrawn to other planted ones, then to flat ones
            return planted[(i + r) % len(planted)] if r < 3 else signature(generate("low-detail", i, 7, size, r))
        return signature(generate("low-detail", i, 7, size, r))

    want, want_first = brute_redraws(sigs, redraw)
    assert (want > 0).sum() > 30 and sum(f >= 0 for f in want_first) > 30
    got, got_first = one_by_one(sigs, redraw)
    np.testing.assert_array_equal(got, want)
    assert got_first == want_first
    np.testing.assert_array_equal(redraw_search(iter(sigs), n, redraw), want)


def test_distinct_redraws_is_the_brute_force_on_real_draws():
    n, size = 400, (32, 32)
    firsts = np.stack([signature(generate("low-detail", i, 3, size)) for i in range(n)])
    want, _ = brute_redraws(firsts, lambda i, r: signature(generate("low-detail", i, 3, size, r)))
    assert want.sum() > 0
    np.testing.assert_array_equal(distinct_redraws("low-detail", 3, size, n, workers=1), want)
