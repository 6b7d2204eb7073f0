"""Galleries: the closest false matches, missed edits and every edit as thumbnails, embedded in
report.html (one self-contained file under a stated size) and linked from report.md."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np
import pytest

from hashbench.report import gallery as g
from hashbench.report.writers import FALSE_MATCH_COLUMNS, MISS_COLUMNS, csv_bytes, render_files

REPORT = {
    "inputs": {"queries": {"transforms": [{"name": "jpeg_q50"}, {"name": "hflip"}]}},
}


def _image(item_id: str) -> np.ndarray:
    """A different noise picture per id (so each thumbnail is its own file)."""
    rng = np.random.default_rng(zlib.crc32(item_id.encode()))
    return rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)


def _false_rows() -> list[tuple[str, ...]]:
    rows = []
    for k, d in enumerate([9, 3, 3, 12, 7, 3, 1, 30]):
        rows.append(("pdq", "31", f"r{k}", f"d{k % 3}", str(d), "90", "80", "shapes", "text", "0"))
    rows.append(("md5|pdq", "0;31", "r0", "d0", "-1;9", "", "", "shapes", "text", ""))  # a composite
    return rows


def _rows(columns, rows) -> list[dict[str, str]]:
    return g.read_rows(csv_bytes(columns, rows, ["# pdq at threshold 31: 8 false matches, 8 listed"]))


def test_worst_pairs_are_the_smallest_distances_then_the_most_matched_images():
    rows = _rows(FALSE_MATCH_COLUMNS, _false_rows())
    got = g.worst_pairs(rows, per_hasher=4)
    # brute force: per-image counts among pdq's listed pairs, then sort by (distance, -count)
    pdq = [r for r in rows if r["hasher"] == "pdq"]
    count = {i: sum(i in (r["id_a"], r["id_b"]) for r in pdq) for r in pdq for i in (r["id_a"], r["id_b"])}
    want = sorted(pdq, key=lambda r: (int(r["distance"]), -count[r["id_a"]] - count[r["id_b"]], r["id_a"]))[:4]
    assert got == want
    assert [r["distance"] for r in got] == ["1", "3", "3", "3"]
    assert (got[1]["id_a"], got[1]["id_b"]) == ("r1", "d1")  # d1 has 3 false matches, d2 only 2
    assert all(r["hasher"] == "pdq" for r in got)  # composites are shown through their parts


def test_miss_sample_takes_a_few_of_every_edit():
    rows = [("pdq", "31", t, f"r{k}", f"r{k}#{t}", "40", "", "") for t in ("jpeg_q50", "hflip") for k in range(5)]
    got = g.miss_sample(_rows(MISS_COLUMNS, rows), per_edit=2)
    assert [(r["transform"], r["reference_id"]) for r in got] == [
        ("jpeg_q50", "r0"),
        ("jpeg_q50", "r1"),
        ("hflip", "r0"),
        ("hflip", "r1"),
    ]


def test_gallery_notes_what_it_cannot_show_and_keeps_to_its_budget():
    rows = _rows(FALSE_MATCH_COLUMNS, _false_rows())

    def image_of(item_id):
        if item_id == "d2":
            return None  # a folder image whose file is gone
        if item_id == "r4":
            raise OSError("truncated file")
        return _image(item_id)

    gal = g.build_gallery(REPORT, rows, [], image_of, reference="r0")
    assert any("`d2`: not shown" in n for n in gal.notes) and any("truncated file" in n for n in gal.notes)
    assert [s.title for s in gal.sections] == ["The closest false matches", "Every edit"]
    assert [t.ids for t in gal.sections[1].tiles] == [("r0", "r0#jpeg_q50"), ("r0", "r0#hflip")]
    small = g.build_gallery(REPORT, rows, [], _image, reference="r0", budget=12_000)
    assert sum(map(len, small.thumbs.values())) <= 12_000 and any("left out" in n for n in small.notes)
    assert g.load_gallery(g.gallery_files(gal)).sections == gal.sections  # the re-render reads it back


@pytest.fixture(scope="module")
def run_report():
    """A real tiny run's report (test_report_files' configuration)."""
    import tempfile

    from hashbench.config import load_config
    from hashbench.runner import run
    from test_report_files import TINY

    root = Path(tempfile.mkdtemp())
    (root / "t.toml").write_text(TINY)
    out = run(load_config(root / "t.toml"), out_root=root / "results", workers=1, progress=False)
    return out.run_dir, out.report


def test_the_run_writes_a_self_contained_gallery_under_its_size(run_report, tmp_path):
    from hashbench.report import load_report, render_report

    run_dir, _ = run_report
    report = load_report(run_dir)
    md = (run_dir / "report.md").read_text()
    links = re.findall(r"\]\((thumbs/[^)]+)\)", md)
    assert links and all((run_dir / link).is_file() for link in links)  # md links only to existing thumbs
    page = (run_dir / "report.html").read_text()
    assert page.count('src="data:image/jpeg;base64,') >= len(set(links))
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", page), "only data: URIs and anchors"
    assert len(page.encode()) < 3_000_000
    # a listed false-match pair (ids of this run) is shown with its ids and distance
    ids = [*report["inputs"]["references"].get("ids", [])] or ["synthetic/mixed/s0/00000001"]
    rows = _rows(FALSE_MATCH_COLUMNS, [("pdq", "31", ids[0], "synthetic/mixed/s1/00000003", "17", "", "", "", "", "")])
    gal = g.build_gallery(report, rows, [], _image, reference=ids[0])
    files = render_files(report, gal)
    html = files["report.html"].decode()
    assert ids[0] in html and "synthetic/mixed/s1/00000003" in html and "distance 17" in html
    assert len(files["report.html"]) < 3_000_000 and "<script" not in html
    # `hashbench report` re-renders the run's gallery from thumbs/, byte for byte
    before = {p: (run_dir / p).read_bytes() for p in ("report.md", "report.html")}
    render_report(report, run_dir)
    assert {p: (run_dir / p).read_bytes() for p in before} == before


def test_a_full_gallery_of_worst_case_images_keeps_the_page_under_3_mb(run_report):
    """Noise is the worst case for JPEG: the byte cap, not the image content, bounds the page."""
    from hashbench.report import load_report

    run_dir, _ = run_report
    report = load_report(run_dir)
    pairs = [("pdq", "31", f"a{k}", f"b{k}", "5", "", "", "", "", "") for k in range(400)]
    gal = g.build_gallery(report, _rows(FALSE_MATCH_COLUMNS, pairs), [], _image, reference="a0", budget=10**9)
    assert len(gal.thumbs) > 12  # only the closest pairs per hasher, whatever the list's length
    full = [("x", "1", f"a{k}", f"b{k}", "5", "", "", "", "", "") for k in range(400)]
    rows = _rows(FALSE_MATCH_COLUMNS, [(f"h{k % 200}", *r[1:]) for k, r in enumerate(full)])
    gal = g.build_gallery(report, rows, [], _image, reference="a0")
    assert sum(map(len, gal.thumbs.values())) <= g.MAX_THUMB_BYTES and any("left out" in n for n in gal.notes)
    assert len(render_files(report, gal)["report.html"]) < 3_000_000


def test_images_are_made_again_from_files_and_recipes(tmp_path):
    from PIL import Image

    from hashbench import datasets, transforms

    for k in range(2):
        Image.fromarray(_image(f"f{k}")).save(tmp_path / f"f{k}.png")
    items = list(datasets.get("folder", root=str(tmp_path)))
    suite = transforms.build_suite([{"name": "flip", "kind": "hflip"}])
    image_of = g.image_maker(items, suite, seed=3)
    first, second = items[0].id, items[1].id
    assert np.array_equal(image_of(first), _image("f0"))  # read from its path
    assert np.array_equal(image_of(f"{first}#flip"), _image("f0")[:, ::-1])  # the edit re-applied
    (tmp_path / "f1.png").unlink()
    assert image_of(second) is None and image_of(f"{second}#flip") is None  # gone: skipped, not raised
    assert image_of("not-an-id") is None and image_of(f"{first}#no-such-edit") is None
    gal = g.build_gallery(REPORT, [], [], image_of, reference=second)
    assert any(f"`{second}`: not shown" in n for n in gal.notes)
