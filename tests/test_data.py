"""Normalised data: shapes, ranges, and pickle-free, atomic writing."""

from pathlib import Path

import numpy as np
import pytest
from latent_atlas import data
from latent_atlas.errors import AtlasError
from latent_atlas.io import atomic_open, load_npz, save_npz


def test_digits_split_is_stratified_and_scaled():
    arrays = data.digits_arrays(0.2, seed=0)
    assert arrays["x_train"].shape == (1437, 64)
    assert arrays["x_test"].shape == (360, 64)
    assert arrays["x_train"].dtype == np.float32
    assert arrays["x_train"].max() == 1.0 and arrays["x_train"].min() == 0.0
    counts = np.bincount(arrays["y_test"])
    assert counts.min() >= 35 and counts.max() <= 37
    again = data.digits_arrays(0.2, seed=0)
    np.testing.assert_array_equal(arrays["x_test"], again["x_test"])


def test_roundtrip_without_pickle(tmp_path: Path):
    arrays = data.digits_arrays(0.2, seed=1)
    save_npz(tmp_path / "d.npz", arrays)
    back = data.load_data(tmp_path / "d.npz")
    assert back["class_names"].tolist() == [str(i) for i in range(10)]
    np.testing.assert_array_equal(back["x_train"], arrays["x_train"])


def test_object_arrays_are_refused(tmp_path: Path):
    with pytest.raises(TypeError, match="pickle"):
        save_npz(tmp_path / "x.npz", {"a": np.array([{"k": 1}], dtype=object)})
    assert not (tmp_path / "x.npz").exists()


def test_corrupt_npz_is_named(tmp_path: Path):
    (tmp_path / "data.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(AtlasError, match=r"data.npz: not a readable .npz"):
        load_npz(tmp_path / "data.npz")


def test_missing_keys_are_named(tmp_path: Path):
    save_npz(tmp_path / "d.npz", {"x_train": np.zeros((2, 4), np.float32)})
    with pytest.raises(AtlasError, match=r"missing arrays \['y_train'"):
        data.load_data(tmp_path / "d.npz")


def test_wrong_shapes_are_rejected(tmp_path: Path):
    arrays = data.digits_arrays(0.2, seed=0)
    arrays["y_train"] = arrays["y_train"][:-1]
    save_npz(tmp_path / "d.npz", arrays)
    with pytest.raises(AtlasError, match=r"y_train .* does not match x_train"):
        data.load_data(tmp_path / "d.npz")


def test_failed_write_leaves_previous_file(tmp_path: Path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_files_get_the_umask_mode(tmp_path: Path):
    import os

    with atomic_open(tmp_path / "f.txt", "w") as fh:
        fh.write("x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("compress", [True, False])
def test_save_npz_stored_or_deflated_roundtrips(tmp_path: Path, compress: bool):
    import zipfile

    arrays = {"a": np.arange(1000, dtype=np.int32), "b": np.linspace(0, 1, 7, dtype=np.float32)}
    save_npz(tmp_path / "g.npz", arrays, compress=compress)
    with zipfile.ZipFile(tmp_path / "g.npz") as zf:
        kinds = {i.compress_type for i in zf.infolist()}
    assert kinds == {zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED}
    back = load_npz(tmp_path / "g.npz")
    for k, v in arrays.items():
        np.testing.assert_array_equal(back[k], v)


def test_a_full_disk_names_the_file_the_space_and_that_a_rerun_continues(tmp_path: Path):
    """ENOSPC while a figure or table is written (PIL, pandas, a plain write): one message
    naming the file, the space left and the fix; the earlier file and no partial one remain."""
    import errno

    out = tmp_path / "figures" / "umap.local.png"
    out.parent.mkdir()
    out.write_bytes(b"before")
    with pytest.raises(AtlasError) as err, atomic_open(out) as fh:
        fh.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")
    msg = str(err.value)
    assert str(out) in msg and "No space left on device" in msg and "MB free there" in msg
    assert "rerun the same command" in msg and "Free some space" in msg
    assert out.read_bytes() == b"before"
    assert sorted(p.name for p in out.parent.iterdir()) == ["umap.local.png"]


def test_a_read_only_results_folder_names_the_folder_to_make_writable(tmp_path, monkeypatch):
    """Creating the file fails (EROFS; root ignores chmod, so the refusal is simulated)."""
    import errno
    import tempfile

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    out = tmp_path / "results" / "report" / "index.html"
    with pytest.raises(AtlasError) as err, atomic_open(out, "w") as fh:
        fh.write("never")
    msg = str(err.value)
    assert str(out) in msg and "Read-only file system" in msg
    assert f"Make {out.parent} writable" in msg and "rerun the same command" in msg
    assert not out.exists()


def test_other_os_errors_are_not_reported_as_a_full_disk(tmp_path: Path):
    """Only a full disk, a read-only or a forbidden folder get the rerun advice; any other
    OSError (a failing read, a file where a folder should be) reaches the caller as it is."""
    import errno

    from latent_atlas.io import write_error

    with pytest.raises(OSError, match="Input/output error"), atomic_open(tmp_path / "a.bin"):
        raise OSError(errno.EIO, "Input/output error")
    assert not list(tmp_path.iterdir())
    (tmp_path / "file").write_text("")
    with pytest.raises(FileExistsError), atomic_open(tmp_path / "file" / "b.bin"):
        pass
    gone = write_error(tmp_path / "nowhere" / "c.bin", OSError(errno.ENOSPC, "No space"))
    assert "its free space unknown" in str(gone)
