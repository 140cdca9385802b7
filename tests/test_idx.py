"""IDX parsing: the good case and every corrupt case names the file and what is wrong."""

from pathlib import Path

import numpy as np
import pytest
from conftest import write_idx
from latent_atlas.errors import AtlasError
from latent_atlas.idx import read_idx, read_idx_pair


def test_reads_images_and_labels(tmp_path: Path) -> None:
    imgs = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "i", imgs)
    write_idx(tmp_path / "l", np.array([7, 1]))
    x, y = read_idx_pair(tmp_path / "i", tmp_path / "l")
    np.testing.assert_array_equal(x, imgs)
    assert y.tolist() == [7, 1]


def test_big_endian_int32(tmp_path: Path) -> None:
    arr = np.array([1, -2, 70000], dtype=">i4")
    (tmp_path / "f").write_bytes(b"\x00\x00\x0c\x01" + (3).to_bytes(4, "big") + arr.tobytes())
    out = read_idx(tmp_path / "f")
    assert out.tolist() == [1, -2, 70000]
    assert out.dtype == np.dtype("int32")


def test_wrong_magic(tmp_path: Path) -> None:
    p = write_idx(tmp_path / "f", np.zeros((2, 2, 2)))
    raw = bytearray(p.read_bytes())
    raw[0] = 0x1F  # looks like gzip
    p.write_bytes(bytes(raw))
    with pytest.raises(AtlasError, match=r"f: wrong magic number 0x1f"):
        read_idx(p)


def test_unknown_type_code(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"\x00\x00\x07\x01" + (1).to_bytes(4, "big") + b"\x00")
    with pytest.raises(AtlasError, match="wrong magic"):
        read_idx(p)


def test_truncated_body_by_one_byte(tmp_path: Path) -> None:
    p = write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 4, 4)))
    p.write_bytes(p.read_bytes()[:-1])
    with pytest.raises(AtlasError, match=r"train-images-idx3-ubyte: body truncated: 47 bytes"):
        read_idx(p)


def test_trailing_bytes(tmp_path: Path) -> None:
    p = write_idx(tmp_path / "f", np.zeros((3,)))
    p.write_bytes(p.read_bytes() + b"\x00")
    with pytest.raises(AtlasError, match="trailing bytes"):
        read_idx(p)


@pytest.mark.parametrize("n", [0, 3, 9])
def test_truncated_header(tmp_path: Path, n: int) -> None:
    p = write_idx(tmp_path / "f", np.zeros((2, 2, 2)))
    p.write_bytes(p.read_bytes()[:n])
    with pytest.raises(AtlasError, match=r"too short|truncated header"):
        read_idx(p)


def test_wrong_ndim(tmp_path: Path) -> None:
    p = write_idx(tmp_path / "labels", np.zeros((2, 2)))
    with pytest.raises(AtlasError, match="declares 2 dimensions, expected 1"):
        read_idx(p, expect_ndim=1)


def test_count_mismatch(tmp_path: Path) -> None:
    write_idx(tmp_path / "imgs", np.zeros((3, 2, 2)))
    write_idx(tmp_path / "labs", np.zeros(2))
    with pytest.raises(AtlasError, match=r"imgs holds 3 images but .*labs holds 2 labels"):
        read_idx_pair(tmp_path / "imgs", tmp_path / "labs")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AtlasError, match="not found"):
        read_idx(tmp_path / "nope")
