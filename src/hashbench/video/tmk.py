"""TMK+PDQF (Meta's Temporal Match Kernel over PDQ float features): the ``tmk`` video hasher.

What the reference computes (ThreatExchange ``tmk/cpp``, as built by PyPI ``tmkpy`` 0.1.1), and so
what this module computes, step by step:

1. **Frames.** The reference pipes the file through the ``ffmpeg`` program:
   ``ffmpeg -i FILE -s 64:64 -an -f rawvideo -pix_fmt rgb24 -r 15 pipe:1``, i.e. every frame scaled
   to 64x64 RGB24 by swscale (bicubic, the program's default) and resampled to a constant 15 fps
   by the program's output frame-rate logic (frames dropped or repeated). Here the frames come
   from :func:`hashbench.video.decode.frames` (PyAV, the same swscale conversion) and
   :func:`cfr_schedule` repeats that frame-rate logic (FFmpeg 5.1's ``-r`` "cfr" video sync, the
   program Debian 12 ships) from each frame's timestamp and duration.
2. **PDQF.** Per frame, PDQ's float luma (``0.299 R + 0.587 G + 0.114 B`` in float) and PDQ's
   16x64 DCT matrix: ``D A D^T``, 256 floats, neither quantised nor median-thresholded (the
   64x64 input skips PDQ's blur and decimation).
3. **TMK.** Level-1 feature: the mean of the frame features. Level-2 features: for each of
   Poullot's four periods ``T`` and 32 Fourier coefficients ``c_j``, the sums over resampled frames
   ``t`` of the L2-normalised frame feature times ``cos(2 pi j t / T)`` and ``sin(...)``, each sum
   L2-normalised and scaled by ``sqrt(c_j)``.
4. **Scores.** Level-1 score: the cosine of the two mean features. Level-2 score: for each period,
   the best time offset's kernel value ``K(d) = cc_0 + sum_j cos(j d) (cc_j + ss_j) + sin(j d)
   (sc_j - cs_j)`` over the ``T`` offsets ``d = 2 pi k / T``; the largest over periods, divided by
   ``c_0 + 2 sum_{j>=1} c_j`` (so a video against itself scores 1).
5. **Rule.** ThreatExchange's tools (``tmk-clusterize``, ``tmk-two-level-score``) call a pair a
   match when level-1 >= 0.7 and then level-2 >= 0.7 (``tmk_default_thresholds.h``, "validated
   for TMK+PDQF"); the rules ``tmk`` and ``tmk-level1`` in :mod:`hashbench.video.match` name them.

Floats: sums are taken in float64 and stored as float32; the reference accumulates in float32 and
walks the offsets with an incremental sine/cosine recurrence. Parity is measured, not assumed
(tests/test_video_tmk.py against features and scores pinned from tmkpy; docs/video.md).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ..errors import UsageError
from .decode import DecodeLimits, VideoError, frames, probe
from .hashers import VideoHash, VideoHasher, register

__all__ = [
    "FPS",
    "SIZE",
    "PERIODS",
    "FOURIER_COEFFICIENTS",
    "LEVEL1_THRESHOLD",
    "LEVEL2_THRESHOLD",
    "TMKFeatures",
    "TMKHasher",
    "cfr_schedule",
    "pdqf",
    "tmk_features",
    "level1_score",
    "level2_score",
    "level2_scores",
    "features_of",
    "match_matrix",
]

#: The reference's resampling rate (``resampleFramesPerSecond = 15`` in tmkpy) and frame size.
FPS = 15
SIZE = 64
#: Poullot's periods (frames at 15 fps), as ``TMKFeatureVectors::makePoullotPeriods``.
PERIODS = (2731, 4391, 9767, 14653)
#: Poullot's Fourier coefficients (m = 32, beta = 32), as tabulated in ``tmkfv.cpp`` (float).
FOURIER_COEFFICIENTS = np.array(
    [
        0.0708041893112, 0.13937789309, 0.132897260304, 0.122765735552, 0.109878684888, 0.09529606433,
        0.0800986647852, 0.0652590650356, 0.0515478238322, 0.0394851531195, 0.0293374252025, 0.0211492623679,
        0.0147973073245, 0.0100512818746, 0.0066306408014, 0.00424947117334, 0.0026467615764, 0.00160270959695,
        0.000943882629639, 0.000540841638603, 0.000301633183798, 0.000163800158855, 8.66454753015e-05,
        4.46626303151e-05, 2.24429442235e-05, 1.09982139799e-05, 5.25823487999e-06, 2.45358229988e-06,
        1.11781474895e-06, 4.97406489221e-07, 2.16265487234e-07, 9.19087006565e-08,
    ],
    dtype=np.float32,
)  # fmt: skip
#: ThreatExchange's default thresholds for TMK+PDQF (``DEFAULT_LEVEL_1_THRESHOLD`` / ``..._2_...``).
LEVEL1_THRESHOLD = 0.7
LEVEL2_THRESHOLD = 0.7
#: Frame-feature dimension (16 x 16 DCT coefficients).
DIM = 256
#: Bytes of one video's features as a VideoHash code row (float32).
NBYTES = 4 * (DIM + 2 * len(PERIODS) * len(FOURIER_COEFFICIENTS) * DIM)
_LUMA = (np.float32(0.299), np.float32(0.587), np.float32(0.114))


@dataclass(frozen=True)
class TMKFeatures:
    """One video's TMK+PDQF features: ``frames`` resampled frames, ``average`` (256,) the level-1
    feature, ``cos`` and ``sin`` (periods, coefficients, 256) the level-2 features (float32)."""

    frames: int
    average: npt.NDArray[np.float32]
    cos: npt.NDArray[np.float32]
    sin: npt.NDArray[np.float32]

    def to_bytes(self) -> npt.NDArray[np.uint8]:
        """The three arrays as one row of bytes (float32, little-endian): a ``VideoHash`` code."""
        flat = np.concatenate([self.average.ravel(), self.cos.ravel(), self.sin.ravel()]).astype("<f4")
        return flat.view(np.uint8)

    @classmethod
    def from_bytes(cls, row: npt.NDArray[np.uint8], frames: int) -> TMKFeatures:
        flat = np.ascontiguousarray(row).view("<f4").astype(np.float32)
        shape = (len(PERIODS), len(FOURIER_COEFFICIENTS), DIM)
        n = int(np.prod(shape))
        return cls(frames, flat[:DIM], flat[DIM : DIM + n].reshape(shape), flat[DIM + n :].reshape(shape))


# ---------------------------------------------------------------------------------------------
# frames: the ffmpeg program's 15 fps resampling


def _lrint(x: float) -> int:
    """C's ``lrintf``: to float32, then to the nearest integer, halves to even (as ``round``)."""
    return round(float(np.float32(x)))


def cfr_schedule(
    pts: Sequence[float | None], durations: Sequence[float | None], fps_in: float, fps_out: int = FPS
) -> list[int]:
    """For each output frame at ``fps_out``, the index of the input frame it shows.

    FFmpeg 5.1's constant-frame-rate video sync (``do_video_out``, what ``-r 15`` does to a
    rawvideo output): input frame ``i`` at ``x = pts_i * fps_out`` output frames; its length is the
    frame's own duration in output frames when that rounds to >= 1, else ``min(fps_out / fps_in,
    1)``; with ``next`` the next output frame number, ``d0 = x - next`` and ``d = d0 + length``,
    the frame is dropped when ``d < -1.1``, sent ``lrint(d)`` times when ``d > 1.1`` (the first
    ``lrint(d0 - 0.6)`` of them repeating the previous frame when ``d0 > 1.1``), else once. At the
    end the median of the last three repeat counts copies of the last frame are sent.
    """
    out: list[int] = []
    nxt = 0
    last = -1
    recent = [0, 0, 0]
    default = min(fps_out / fps_in, 1.0)
    for i, (t, dur) in enumerate(zip(pts, durations)):
        x = (t if t is not None else i / fps_in) * fps_out
        length = default
        if dur:
            own = _lrint(dur * fps_out)
            if own > 0:
                length = float(own)
        d0 = x - nxt
        d = d0 + length
        if d0 < 0 < d:  # "clipping frame in rate conversion": d is not recomputed
            d0 = 0.0
        nb, nb0 = 1, 0
        if d < -1.1:
            nb = 0
        elif d > 1.1:
            nb = _lrint(d)
            if d0 > 1.1:
                nb0 = _lrint(d0 - 0.6)
        nb0 = min(nb0, nb)
        recent = [nb0, *recent[:2]]
        out.extend(last if k < nb0 and last >= 0 else i for k in range(nb))
        nxt += nb
        last = i
    if last >= 0:
        out.extend([last] * sorted(recent)[1])
    return out


def _decoded_features(
    path: str | Path, limits: DecodeLimits
) -> tuple[npt.NDArray[np.float32], float, list[float | None], list[float | None]]:
    """PDQF of every frame at 64x64 RGB24 (bicubic, as the ffmpeg program's ``-s``), with each
    frame's time and duration; frames are hashed in blocks, so memory is 1 KB per frame."""
    fps = probe(path, limits).fps
    feats: list[npt.NDArray[np.float32]] = []
    block: list[npt.NDArray[np.uint8]] = []
    pts: list[float | None] = []
    durs: list[float | None] = []
    for fr in frames(path, limits=limits, size=(SIZE, SIZE), interpolation="BICUBIC"):
        block.append(fr.rgb)
        pts.append(fr.pts)
        durs.append(fr.duration)
        if len(block) == 256:
            feats.append(pdqf(np.stack(block)))
            block = []
    if block:
        feats.append(pdqf(np.stack(block)))
    return (np.concatenate(feats) if feats else np.zeros((0, DIM), np.float32)), fps, pts, durs


# ---------------------------------------------------------------------------------------------
# PDQF and TMK features


@functools.cache
def _dct() -> npt.NDArray[np.float32]:
    from ..hashers._pdq_kernels import dct_matrix  # PDQ's own 16x64 float matrix

    return dct_matrix()


def pdqf(rgb64: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """PDQ float features of (n, 64, 64, 3) RGB24 frames: (n, 256), ``D A D^T`` row-major."""
    px = rgb64.astype(np.float32)
    luma = (_LUMA[0] * px[..., 0] + _LUMA[1] * px[..., 1]) + _LUMA[2] * px[..., 2]
    d = _dct()
    out = (d @ luma @ d.T).astype(np.float32)
    return out.reshape(len(rgb64), DIM)


def tmk_features(feats: npt.NDArray[np.float32]) -> TMKFeatures:
    """Level-1 and level-2 features of a video's resampled frame features, in frame order."""
    n = len(feats)
    p, c = len(PERIODS), len(FOURIER_COEFFICIENTS)
    cos = np.zeros((p, c, DIM), dtype=np.float64)
    sin = np.zeros((p, c, DIM), dtype=np.float64)
    if n == 0:
        return TMKFeatures(0, np.zeros(DIM, np.float32), cos.astype(np.float32), sin.astype(np.float32))
    f = feats.astype(np.float64)
    norms = np.sqrt((f * f).sum(axis=1))
    unit = np.divide(f, norms[:, None], out=f.copy(), where=norms[:, None] > 0)
    t = np.arange(n, dtype=np.float64)
    j = np.arange(c, dtype=np.float64)
    for i, period in enumerate(PERIODS):
        arg = 2.0 * math.pi * j[:, None] * t[None, :] / period  # (c, n)
        cos[i] = np.cos(arg) @ unit
        sin[i] = np.sin(arg) @ unit
    sin[:, 0] = 0.0  # the reference never adds to the j = 0 sine feature
    scale = np.sqrt(FOURIER_COEFFICIENTS.astype(np.float64))[None, :, None]
    for arr in (cos, sin):
        norm = np.sqrt((arr * arr).sum(axis=2, keepdims=True))
        np.divide(arr, norm, out=arr, where=norm > 0)
        arr *= scale
    average = (f.sum(axis=0) / n).astype(np.float32)
    return TMKFeatures(n, average, cos.astype(np.float32), sin.astype(np.float32))


# ---------------------------------------------------------------------------------------------
# scores


def level1_score(a: TMKFeatures, b: TMKFeatures) -> float:
    """Cosine of the two mean frame features (0 when both are zero, as the reference; NaN when one is)."""
    x, y = a.average.astype(np.float64), b.average.astype(np.float64)
    nx, ny = float(np.linalg.norm(x)), float(np.linalg.norm(y))
    if nx == 0.0 and ny == 0.0:
        return 0.0
    if nx == 0.0 or ny == 0.0:
        return float("nan")
    return float(x @ y / (nx * ny))


@functools.cache
def _offset_tables() -> tuple[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]], ...]:
    """Per period, ``cos(j d)`` and ``sin(j d)`` for every offset ``d = 2 pi k / T`` (float, as the
    reference rounds d) and ``j = 1..31``: (T, 31) each, 15 MB in all, built once."""
    j = np.arange(1, len(FOURIER_COEFFICIENTS), dtype=np.float64)
    out = []
    for period in PERIODS:
        k = np.arange(period, dtype=np.float32)
        delta = (np.float32(2.0 * math.pi) * k / np.float32(period)).astype(np.float64)
        arg = delta[:, None] * j[None, :]
        out.append((np.cos(arg), np.sin(arg)))
    return tuple(out)


def _normalizer() -> float:
    c = FOURIER_COEFFICIENTS.astype(np.float64)
    return float(c[0] + 2.0 * c[1:].sum())


def level2_scores(pairs: Iterable[tuple[TMKFeatures, TMKFeatures]]) -> npt.NDArray[np.float64]:
    """Level-2 score of each pair: the best offset's kernel value over every period, normalised."""
    pairs = list(pairs)
    if not pairs:
        return np.zeros(0)
    a_cos = np.stack([p[0].cos for p in pairs]).astype(np.float64)
    a_sin = np.stack([p[0].sin for p in pairs]).astype(np.float64)
    b_cos = np.stack([p[1].cos for p in pairs]).astype(np.float64)
    b_sin = np.stack([p[1].sin for p in pairs]).astype(np.float64)
    cc = np.einsum("npcd,npcd->npc", a_cos, b_cos)
    ss = np.einsum("npcd,npcd->npc", a_sin, b_sin)
    sc = np.einsum("npcd,npcd->npc", a_sin, b_cos)
    cs = np.einsum("npcd,npcd->npc", a_cos, b_sin)
    best = np.full(len(pairs), -np.inf)
    for i, (cos_t, sin_t) in enumerate(_offset_tables()):
        k = cc[:, i, :1] + (cc[:, i, 1:] + ss[:, i, 1:]) @ cos_t.T + (sc[:, i, 1:] - cs[:, i, 1:]) @ sin_t.T
        best = np.maximum(best, k.max(axis=1))
    return best / _normalizer()


def level2_score(a: TMKFeatures, b: TMKFeatures) -> float:
    return float(level2_scores([(a, b)])[0])


# ---------------------------------------------------------------------------------------------
# the hasher


def features_of(h: VideoHash) -> TMKFeatures:
    """The :class:`TMKFeatures` a ``tmk`` :class:`VideoHash` carries (a one-line error for another
    hasher's hash: a TMK rule compares TMK features only)."""
    if h.codes.shape != (1, NBYTES):
        raise UsageError("a TMK rule (tmk, tmk-level1) compares TMK features: use it with the tmk hasher only")
    return TMKFeatures.from_bytes(h.codes[0], int(h.frame[0]))


def match_matrix(
    feats: Sequence[TMKFeatures], level1: float, level2: float | None, batch: int = 64
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """``M[i, j]``: do videos i and j match (level-1 >= ``level1``, then level-2 >= ``level2`` when
    given), and the level-1 scores. As the reference's two-level scan, level-2 is computed only for
    pairs that pass level-1. Symmetric, False on the diagonal and for videos without frames."""
    n = len(feats)
    avg = np.stack([f.average for f in feats]).astype(np.float64) if n else np.zeros((0, DIM))
    norm = np.linalg.norm(avg, axis=1)
    usable = norm > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        s1 = (avg @ avg.T) / (norm[:, None] * norm[None, :])
    m = np.triu((s1 >= level1) & usable[:, None] & usable[None, :], 1)
    if level2 is not None:
        cand = np.argwhere(m)
        for a in range(0, len(cand), batch):
            part = cand[a : a + batch]
            s2 = level2_scores([(feats[i], feats[j]) for i, j in part])
            m[part[:, 0], part[:, 1]] = s2 >= level2
    return m | m.T, s1


@register("tmk")
class TMKHasher(VideoHasher):
    """TMK+PDQF: level-1 and level-2 features of the video resampled to 15 fps at 64x64."""

    #: float32 bits of the features a video hashes to (256 + 2 x 4 x 32 x 256 floats, 257 KB).
    nbits: ClassVar[int] = 8 * NBYTES
    library = "hashbench"
    description = "TMK+PDQF (Meta): PDQ float features at 15 fps, 64x64; level-1 and level-2 cosine scores"
    rule = "tmk"

    def hash_video(self, path: str | Path) -> VideoHash:
        decoded, fps, pts, durs = _decoded_features(path, self.limits)
        order = cfr_schedule(pts, durs, fps)
        if len(order) > self.limits.max_frames:
            raise VideoError(f"more than {self.limits.max_frames} frames at {FPS} fps (the limit)")
        f = tmk_features(decoded[np.asarray(order, dtype=np.int64)])
        return VideoHash(
            codes=f.to_bytes()[None, :],
            quality=np.full(1, -1, dtype=np.int16),
            frame=np.array([f.frames], dtype=np.int64),
            timestamp=np.zeros(1, dtype=np.float64),
            info={"fps": fps, "decoded_frames": int(len(decoded)), "resampled_frames": f.frames, "resample_fps": FPS},
        )

    def params(self) -> dict[str, Any]:
        return {"fps": FPS, "size": SIZE, "periods": list(PERIODS), "fourier_coefficients": len(FOURIER_COEFFICIENTS)}
