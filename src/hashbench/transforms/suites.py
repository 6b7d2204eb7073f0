"""Named suites of transforms, random ISC-style chains, and applying a suite to one image.

A suite is a list of transforms with unique names; results are keyed by (item id, transform
name). Built-in suites:

``default``      36 single edits, most at a mild and a strong level, and one chain
``geometric``    scaling, crops, pads, stretches, rotations, flips, perspective, shear
``photometric``  tone, colour, blur, sharpening, noise, quantisation and re-encoding
``overlay``      captions, watermarks, stickers, meme bars, screenshots
``dihedral``     the 7 non-identity rotations and flips
``isc``          10 random chains of 1-4 edits each, as in the Image Similarity Challenge

A run configuration can define its own suite as a list of entries (:func:`build_suite`):
``{"kind": "jpeg", "quality": 40}``, ``{"kind": "crop", "fraction": [0.5, 0.9], "name": "crop_rand"}``
or ``{"chain": [{"kind": "crop", "fraction": 0.8}, {"kind": "jpeg", "quality": 60}]}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..errors import UsageError
from . import encode, geometric, overlay, photometric  # noqa: F401  (registers the transforms)
from .base import Chain, RGBArray, Transform, TransformOutput, get, register, run_steps, transform_rng

__all__ = [
    "RandomChain",
    "SUITES",
    "SUITE_DESCRIPTIONS",
    "get_suite",
    "build_suite",
    "apply_suite",
    "suite_names",
    "isc_pool",
]


def _t(kind: str, name: str, **params: Any) -> Transform:
    return get(kind, name=name, **params)


def isc_pool() -> list[Transform]:
    """The edits an ISC-style chain draws from, each with randomised strength."""
    return [
        _t("jpeg", "jpeg", quality=(20, 90)),
        _t("webp", "webp", quality=(20, 90)),
        _t("resize", "resize", scale=(0.3, 1.5)),
        _t("downscale_upscale", "downscale_upscale", scale=(0.2, 0.6)),
        _t("crop", "crop", fraction=(0.5, 0.95), position="random"),
        _t("pad", "pad", fraction=(0.02, 0.25), colour="random"),
        _t("stretch", "stretch", factor=(0.7, 1.4), axis="x"),
        _t("rotate", "rotate", degrees=(-30.0, 30.0), mode="crop"),
        _t("hflip", "hflip"),
        _t("rotate90", "rotate90"),
        _t("perspective", "perspective", strength=(0.03, 0.15)),
        _t("shear", "shear", factor=(-0.3, 0.3)),
        _t("brightness", "brightness", factor=(0.6, 1.5)),
        _t("contrast", "contrast", factor=(0.5, 1.6)),
        _t("saturation", "saturation", factor=(0.0, 2.0)),
        _t("hue", "hue", shift=(-0.3, 0.3)),
        _t("gamma", "gamma", gamma=(0.5, 2.0)),
        _t("grayscale", "grayscale"),
        _t("blur", "blur", sigma=(0.5, 3.0)),
        _t("sharpen", "sharpen", amount=(0.5, 2.0)),
        _t("noise", "noise", sigma=(3.0, 20.0)),
        _t("salt_pepper", "salt_pepper", amount=(0.005, 0.05)),
        _t("posterize", "posterize", bits=(2, 5)),
        _t("text_overlay", "text_overlay", size=(0.05, 0.15), position="random", colour="random"),
        _t("logo", "logo", opacity=(0.3, 1.0), scale=(0.1, 0.3), position="random"),
        _t("sticker", "sticker", count=(1, 3), scale=(0.15, 0.35)),
        _t("meme", "meme", bar=(0.12, 0.25)),
        _t("screenshot", "screenshot", scale=(0.5, 0.9)),
    ]


@register
class RandomChain(Transform):
    """A chain of ``min_steps``..``max_steps`` edits drawn (without repeats) from a pool per image."""

    kind = "random_chain"
    description = "a random chain of edits from the ISC pool, drawn per image"
    defaults: ClassVar[dict[str, Any]] = {"min_steps": 1, "max_steps": 4}
    param_help = {"min_steps": "fewest edits", "max_steps": "most edits"}

    def __init__(self, name: str | None = None, pool: Sequence[Transform] | None = None, **params: Any) -> None:
        super().__init__(name=name, **params)
        self.pool = list(pool) if pool is not None else isc_pool()
        if not 1 <= int(self.params["min_steps"]) <= int(self.params["max_steps"]) <= len(self.pool):
            raise UsageError(f"random_chain: need 1 <= min_steps <= max_steps <= {len(self.pool)}")

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> TransformOutput:
        k = int(rng.integers(int(params["min_steps"]), int(params["max_steps"]) + 1))
        picks = rng.choice(len(self.pool), size=k, replace=False).tolist()
        out = run_steps([self.pool[i] for i in picks], image, rng)
        return TransformOutput(out.pixels, {**params, **out.params}, out.data, out.format)


def _default() -> list[Transform]:
    return [
        _t("jpeg", "jpeg_q80", quality=80),
        _t("jpeg", "jpeg_q30", quality=30),
        _t("webp", "webp_q80", quality=80),
        _t("webp", "webp_q30", quality=30),
        _t("png", "png_reencode"),
        _t("resize", "resize_50", scale=0.5),
        _t("downscale_upscale", "downup_25", scale=0.25),
        _t("crop", "crop_90_center", fraction=0.9),
        _t("crop", "crop_70_random", fraction=0.7, position="random"),
        _t("pad", "pad_10_black", fraction=0.1, colour="black"),
        _t("stretch", "stretch_x120", factor=1.2),
        _t("rotate", "rotate_3_crop", degrees=3.0, mode="crop"),
        _t("rotate", "rotate_20_expand", degrees=20.0, mode="expand"),
        _t("rotate90", "rotate90"),
        _t("hflip", "hflip"),
        _t("perspective", "perspective_08", strength=0.08),
        _t("shear", "shear_15", factor=0.15),
        _t("brightness", "brightness_130", factor=1.3),
        _t("brightness", "brightness_60", factor=0.6),
        _t("contrast", "contrast_150", factor=1.5),
        _t("contrast", "contrast_50", factor=0.5),
        _t("saturation", "saturation_200", factor=2.0),
        _t("hue", "hue_15", shift=0.15),
        _t("gamma", "gamma_60", gamma=0.6),
        _t("grayscale", "grayscale"),
        _t("blur", "blur_1", sigma=1.0),
        _t("blur", "blur_4", sigma=4.0),
        _t("sharpen", "sharpen_150", amount=1.5),
        _t("noise", "noise_20", sigma=20.0),
        _t("salt_pepper", "salt_pepper_2", amount=0.02),
        _t("posterize", "posterize_3", bits=3),
        _t("text_overlay", "caption_bottom", size=0.09, position="bottom"),
        _t("logo", "logo_50", opacity=0.5, scale=0.2),
        _t("sticker", "sticker_1", count=1, scale=0.3),
        _t("meme", "meme_top", bar=0.2),
        _t("screenshot", "screenshot_70", scale=0.7),
        Chain([_t("crop", "crop_80_center", fraction=0.8), _t("jpeg", "jpeg_q60", quality=60)], name="crop80+jpeg60"),
    ]


def _geometric() -> list[Transform]:
    return [
        _t("resize", "resize_200", scale=2.0),
        _t("resize", "resize_50", scale=0.5),
        _t("resize", "resize_25", scale=0.25),
        _t("resize", "resize_10", scale=0.1),
        _t("downscale_upscale", "downup_50", scale=0.5),
        _t("downscale_upscale", "downup_25", scale=0.25),
        _t("crop", "crop_95_center", fraction=0.95),
        _t("crop", "crop_90_center", fraction=0.9),
        _t("crop", "crop_80_random", fraction=0.8, position="random"),
        _t("crop", "crop_60_random", fraction=0.6, position="random"),
        _t("crop", "crop_50_topleft", fraction=0.5, position="top-left"),
        _t("pad", "pad_5_black", fraction=0.05),
        _t("pad", "pad_25_white", fraction=0.25, colour="white"),
        _t("pad", "pillarbox_30_black", fraction=0.3, sides="left-right"),
        _t("stretch", "stretch_x80", factor=0.8),
        _t("stretch", "stretch_y140", factor=1.4, axis="y"),
        _t("rotate", "rotate_2_crop", degrees=2.0),
        _t("rotate", "rotate_5_crop", degrees=5.0),
        _t("rotate", "rotate_15_crop", degrees=15.0),
        _t("rotate", "rotate_45_expand", degrees=45.0, mode="expand"),
        _t("rotate", "rotate_10_same", degrees=10.0, mode="same"),
        _t("rotate90", "rotate90"),
        _t("rotate180", "rotate180"),
        _t("rotate270", "rotate270"),
        _t("hflip", "hflip"),
        _t("vflip", "vflip"),
        _t("transpose", "transpose"),
        _t("perspective", "perspective_05", strength=0.05),
        _t("perspective", "perspective_15", strength=0.15),
        _t("shear", "shear_10", factor=0.1),
        _t("shear", "shear_30_y", factor=0.3, axis="y"),
    ]


def _photometric() -> list[Transform]:
    return [
        _t("brightness", "brightness_120", factor=1.2),
        _t("brightness", "brightness_160", factor=1.6),
        _t("brightness", "brightness_80", factor=0.8),
        _t("brightness", "brightness_40", factor=0.4),
        _t("contrast", "contrast_130", factor=1.3),
        _t("contrast", "contrast_200", factor=2.0),
        _t("contrast", "contrast_70", factor=0.7),
        _t("contrast", "contrast_30", factor=0.3),
        _t("saturation", "saturation_150", factor=1.5),
        _t("saturation", "saturation_50", factor=0.5),
        _t("hue", "hue_05", shift=0.05),
        _t("hue", "hue_50", shift=0.5),
        _t("gamma", "gamma_80", gamma=0.8),
        _t("gamma", "gamma_200", gamma=2.0),
        _t("grayscale", "grayscale"),
        _t("invert", "invert"),
        _t("blur", "blur_05", sigma=0.5),
        _t("blur", "blur_2", sigma=2.0),
        _t("blur", "blur_6", sigma=6.0),
        _t("sharpen", "sharpen_100", amount=1.0),
        _t("sharpen", "sharpen_300", amount=3.0),
        _t("noise", "noise_3", sigma=3.0),
        _t("noise", "noise_10", sigma=10.0),
        _t("noise", "noise_30", sigma=30.0),
        _t("salt_pepper", "salt_pepper_1", amount=0.01),
        _t("salt_pepper", "salt_pepper_5", amount=0.05),
        _t("posterize", "posterize_5", bits=5),
        _t("posterize", "posterize_2", bits=2),
        _t("jpeg", "jpeg_q90", quality=90),
        _t("jpeg", "jpeg_q50", quality=50),
        _t("jpeg", "jpeg_q10", quality=10),
        _t("webp", "webp_q50", quality=50),
        _t("webp", "webp_q10", quality=10),
        _t("png", "png_reencode"),
    ]


def _overlay() -> list[Transform]:
    return [
        _t("text_overlay", "caption_small", size=0.05, position="bottom"),
        _t("text_overlay", "caption_large", size=0.15, position="center"),
        _t("text_overlay", "caption_random", size=(0.05, 0.12), position="random", colour="random"),
        _t("logo", "logo_corner_30", opacity=0.3, scale=0.15),
        _t("logo", "logo_corner_100", opacity=1.0, scale=0.2),
        _t("logo", "logo_center_50", opacity=0.5, scale=0.5, position="center"),
        _t("sticker", "sticker_1", count=1, scale=0.2),
        _t("sticker", "sticker_3", count=3, scale=0.3),
        _t("meme", "meme_top", bar=0.2),
        _t("meme", "meme_both", bar=0.15, position="both"),
        _t("screenshot", "screenshot_90", scale=0.9),
        _t("screenshot", "screenshot_50", scale=0.5),
    ]


def _dihedral() -> list[Transform]:
    return [_t(k, k) for k in ("rotate90", "rotate180", "rotate270", "hflip", "vflip", "transpose", "transverse")]


def _isc() -> list[Transform]:
    pool = isc_pool()
    return [RandomChain(name=f"isc_chain_{k:02d}", pool=pool) for k in range(10)]


SUITES: dict[str, Callable[[], list[Transform]]] = {
    "default": _default,
    "geometric": _geometric,
    "photometric": _photometric,
    "overlay": _overlay,
    "dihedral": _dihedral,
    "isc": _isc,
}

SUITE_DESCRIPTIONS: dict[str, str] = {
    "default": "36 single edits at mild and strong levels, plus one crop+jpeg chain",
    "geometric": "scaling, crops, pads, stretches, rotations, flips, perspective, shear",
    "photometric": "tone, colour, blur, sharpening, noise, quantisation, re-encoding",
    "overlay": "captions, watermarks, stickers, meme bars, screenshots",
    "dihedral": "the 7 non-identity rotations and flips (exact pixel rearrangements)",
    "isc": "10 random chains of 1-4 edits per image (Image Similarity Challenge style)",
}


def suite_names() -> list[str]:
    """Names of the built-in suites."""
    return list(SUITES)


def get_suite(name: str) -> list[Transform]:
    """A fresh list of the transforms of built-in suite ``name``."""
    try:
        factory = SUITES[name]
    except KeyError:
        raise UsageError(f"unknown suite {name!r}; suites: {', '.join(SUITES)}") from None
    return _check_unique(factory())


def build_suite(entries: Sequence[Mapping[str, Any] | str]) -> list[Transform]:
    """A suite from configuration entries (see the module docstring); names must be unique.

    An entry that is a string names a built-in suite whose transforms are included.
    """
    suite: list[Transform] = []
    for entry in entries:
        if isinstance(entry, str):
            suite.extend(get_suite(entry))
        else:
            suite.append(_build_entry(entry))
    return _check_unique(suite)


def _build_entry(entry: Mapping[str, Any]) -> Transform:
    spec = dict(entry)
    name = spec.pop("name", None)
    if "chain" in spec:
        steps = spec.pop("chain")
        if spec:
            raise UsageError(f"a chain entry takes only 'chain' and 'name', got {sorted(spec)}")
        return Chain([_build_entry(s) for s in steps], name=name)
    if "kind" not in spec:
        raise UsageError(f"a suite entry needs 'kind' (or 'chain'): {dict(entry)!r}")
    kind = spec.pop("kind")
    return get(kind, name=name, **spec)


def _check_unique(suite: list[Transform]) -> list[Transform]:
    seen: set[str] = set()
    for t in suite:
        if t.name in seen:
            raise UsageError(f"two transforms in one suite are named {t.name!r}; give them distinct names")
        seen.add(t.name)
    return suite


def apply_suite(image: RGBArray, suite: Sequence[Transform], seed: int, item_id: str) -> list[TransformOutput]:
    """Apply every transform of ``suite`` to ``image``; output ``k`` belongs to ``suite[k]``.

    Each transform draws from :func:`transform_rng` ``(seed, item_id, transform.name)``, so an
    output depends only on those three and the image: not on the suite's order, on other items,
    or on which process runs it.
    """
    return [t.apply(image, transform_rng(seed, item_id, t.name)) for t in suite]
