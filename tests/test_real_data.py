"""srgan_course.real_data: the open real-MR corpus, tested on a tiny NIfTI made here (nothing is downloaded).

The source table is monkeypatched to point at the test's own files, so these tests do not depend on which
Debian or pip packages are installed — except `test_installed_source`, which converts each real source as
installed here: skipped where it is missing, failed where $CI is set (.ci/run installs all three).
"""
import json, os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from srgan_course import cli, data, real_data
from srgan_course import phantoms
from srgan_course.data import DataError


def head(shape=(22, 26, 18)):
    "A NIfTI-like head: an ellipsoid of tissue with some texture, in a background of zeros (RAS+, 1 mm)."
    i, j, k = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    inside = (i / 0.8) ** 2 + (j / 0.8) ** 2 + (k / 0.8) ** 2 < 1
    rng = np.random.default_rng(0)
    return (inside * (300 + 50 * rng.random(shape))).astype(np.float32)


@pytest.fixture
def tiny_sources(tmp_path, monkeypatch):
    "SOURCES replaced by a tiny NIfTI volume (subject 'alice'), a tiny PNG of the same subject and one missing source."
    from PIL import Image
    nii = tmp_path / "src" / "alice_t1.nii.gz"; nii.parent.mkdir()
    nib.save(nib.Nifti1Image(head(), np.diag([1.0, 1.0, 1.5, 1.0])), nii)
    png = tmp_path / "src" / "alice_slice.png"
    Image.fromarray((head((40, 36, 3))[:, :, 1] / 350 * 255).astype(np.uint8)).save(png)
    table = {
        "tiny": real_data.Source("tiny", "alice", "a tiny test head", "CC0 (test)", "Test et al. 2024", "make tiny",
                                 lambda work: [nii]),
        "tinypng": real_data.Source("tinypng", "alice", "a tiny test slice", "CC0 (test)", "Test et al. 2024", "make png",
                                    lambda work: [png], orientations={"alice_slice.png": "axial"}),
        "absent": real_data.Source("absent", "bob", "not installed", "MIT", "-", "sudo apt-get install absent-data",
                                   lambda work: []),
    }
    monkeypatch.setattr(real_data, "SOURCES", table)
    return table


def test_corpus_from_a_tiny_nifti(tiny_sources, tmp_path):
    "Three planes of the volume + the 2-D slice, each readable by data.read_volume with provenance; the missing source named."
    res = real_data.make_real_data(tmp_path / "out", log=None)
    names = sorted(p.name for p in res["written"])
    assert names == ["tiny_alice_t1_axial.h5", "tiny_alice_t1_coronal.h5", "tiny_alice_t1_sagittal.h5", "tinypng_alice_slice_axial.h5"]
    assert res["missing"] == [("absent", "sudo apt-get install absent-data")]
    for p in res["written"]:
        v = data.read_volume(p, load_kspace=False)
        for key in ("source", "licence", "citation", "subject", "plane", "patient_id", "source_file", "source_slices"):
            assert key in v.attrs, (p.name, key)
        assert v.attrs["licence"] == "CC0 (test)" and v.attrs["patient_id"] == real_data.patient_id_of("alice")
        assert v.target.shape[1] % 8 == 0 and v.target.shape[2] % 8 == 0
        assert (v.target.reshape(len(v.target), -1) > 0).mean(1).min() > 0.1   # no empty slices kept
    manifest = json.loads(res["manifest"].read_text())
    assert [e["file"] for e in manifest] == [p.name for p in res["written"]]
    assert all(e["sha256"] == real_data.sha256_of(res["manifest"].parent / e["file"]) for e in manifest)
    voxel = {e["plane"]: e["voxel_mm"] for e in manifest if e["source"] == "tiny"}   # the affine's z is 1.5 mm
    assert voxel == {"axial": [1, 1, 1.5], "coronal": [1.5, 1, 1], "sagittal": [1.5, 1, 1]}


def test_no_source_installed_lists_every_install_command(tiny_sources, tmp_path, monkeypatch):
    "With nothing installed: DataError naming each install command, and nothing written."
    for s in tiny_sources.values(): monkeypatch.setattr(s, "locate", lambda work: [])
    with pytest.raises(DataError) as e: real_data.make_real_data(tmp_path / "out", log=None)
    for s in tiny_sources.values(): assert s.install in str(e.value)
    assert not (tmp_path / "out").exists()


def test_cli_exit_codes(tiny_sources, tmp_path, monkeypatch, capsys):
    "`srgan-course real-data`: exit 0 with at least one source (the missing one's install command printed), 2 with none."
    assert cli.main(["real-data", str(tmp_path / "a")]) == 0
    assert "sudo apt-get install absent-data" in capsys.readouterr().out
    for s in tiny_sources.values(): monkeypatch.setattr(s, "locate", lambda work: [])
    with pytest.raises(SystemExit) as e: cli.main(["real-data", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "make tiny" in err and "Traceback" not in err


def test_heldout_split_never_shares_a_patient(tiny_sources, tmp_path):
    "Colin27 and BrainWeb (one subject) go together; no patient_id lands on both sides, whatever the mix of files."
    files = []
    for subject, name in [("colin27", "ch2"), ("colin27", "brainweb"), ("mni152", "mni"), ("alice", "a")]:
        for plane in ("axial", "coronal"):
            src = real_data.Source(name, subject, name, "L", "C", "i", lambda w: [])
            files.append(real_data.write_corpus_volume(tmp_path / f"{name}_{plane}.h5", head((4, 16, 16)), (1, 1, 1), src, plane, "f", (0, 4)))
    files += phantoms.make_demo_data(tmp_path / "demo", volumes=2, slices=1)
    train, held = real_data.heldout_split(files)
    assert sorted(p.name for p in held) == ["brainweb_axial.h5", "brainweb_coronal.h5", "ch2_axial.h5", "ch2_coronal.h5"]
    pid = real_data.patient_id_in
    assert not set(map(pid, train)) & set(map(pid, held)) and len(train) + len(held) == len(files)
    train2, held2 = real_data.heldout_split(files, heldout=("alice", "mni152"))
    assert not set(map(pid, train2)) & set(map(pid, held2)) and len(held2) == 4


def test_subjects_and_planes():
    "The shipped table: Colin27's BrainWeb slices count as Colin27; planes follow the affine, not the axis number."
    assert real_data.SUBJECTS == {"mni152": "mni152", "colin27": "colin27", "brainweb": "colin27"}
    assert real_data.HELDOUT_SUBJECTS == ("colin27",)
    swapped = np.array([[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]], float)   # voxel axis 0 runs along A-P
    assert [real_data.plane_of(swapped, a) for a in range(3)] == ["coronal", "axial", "sagittal"]


def test_nothing_downloads():
    "Inside no_network a connection attempt fails loudly."
    import socket
    with pytest.raises(DataError, match="network"):
        with real_data.no_network("test"): socket.create_connection(("127.0.0.1", 9))


def test_hidden_sources_are_missing(tiny_sources, tmp_path, monkeypatch):
    "$SRGAN_COURSE_HIDE_REAL makes an installed source look missing: make_real_data and `installed` skip it and say so."
    monkeypatch.setenv(real_data.HIDE_ENV, "tinypng")
    assert [real_data.hidden(n) for n in tiny_sources] == [False, True, False]
    res = real_data.make_real_data(tmp_path / "out", log=None)
    assert {p.name.split("_")[0] for p in res["written"]} == {"tiny"}
    assert res["missing"] == [("tinypng", "make png"), ("absent", "sudo apt-get install absent-data")]
    lines = []
    assert set(real_data.installed(tmp_path, "the phantoms", log=lines.append)) == {"tiny"}
    assert len(lines) == 1 and "make png" in lines[0] and "absent-data" in lines[0] and "the phantoms" in lines[0]
    monkeypatch.setenv(real_data.HIDE_ENV, "all")
    with pytest.raises(DataError, match="real MR not installed"): real_data.make_real_data(tmp_path / "none", log=None)
    src = tiny_sources["tiny"]   # a Source object passed directly is used as it is (a chapter's stand-in)
    assert len(real_data.make_real_data(tmp_path / "own", sources=[src], log=None)["written"]) == 3


def _missing(name):
    "Skip when a real source is not installed; fail when $CI is set (.ci/run installs every source) unless it is hidden."
    msg = f"real source {name} not installed ({real_data.SOURCES[name].install})"
    if os.environ.get("CI") and not real_data.hidden(name): pytest.fail(f"{msg}; CI is set, so this is a failure: .ci/run installs it")
    pytest.skip(msg)


@pytest.mark.parametrize("name", list(real_data.SOURCES))
def test_installed_source(name, tmp_path):
    "Each real source as installed here becomes fastMRI volumes with tissue, its subject's patient_id and a licence that exists."
    work = tmp_path / "work"; work.mkdir()
    files = real_data.locate(name, work)
    if not files: _missing(name)
    src = real_data.SOURCES[name]
    res = real_data.make_real_data(tmp_path / "out", sources=[name], max_slices=2, log=None)
    assert res["missing"] == [] and len(res["written"]) == sum(1 if str(f).endswith(".png") else 3 for f in files)
    for p in res["written"]:
        v = data.read_volume(p, load_kspace=False)
        assert v.target.shape[0] <= 2 and v.target.shape[1] % 8 == 0 and v.target.shape[2] % 8 == 0, (p.name, v.target.shape)
        assert (v.target.reshape(len(v.target), -1) > 0.1 * v.target.max()).mean(1).min() > 0.1, p.name   # tissue, not background
        assert v.attrs["patient_id"] == real_data.patient_id_of(src.subject) and v.attrs["licence"] == src.licence
    for copyright in (w for w in src.licence.split() if w.startswith("/usr/share/doc/")):   # the Debian package's own licence file
        text = Path(copyright.rstrip(")")).read_text(errors="replace")
        assert src.licence.split()[0].split("-")[0] in text, (copyright, src.licence.split()[0])
