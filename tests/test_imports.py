"""memcore.data.imports / readers and the `datasets` verbs: each format imports from generated
files and registers what the data is; every bad file is refused with a message naming the
problem and the fix, and changes nothing; removal keeps runs readable; a changed file gives new
run keys."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from memcore import cli
from memcore.data import imports
from memcore.data.files import DatasetUnavailable
from memcore.data.loading import load
from memcore.datasets import REGISTRY, names, user_registry_path
from memcore.spec import DataSpec
from memcore.spec.presets import preset


def blobs(n: int = 300, seed: int = 0, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated Gaussian blobs in 2-D (values far outside [0, 1])."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = np.array([[0, 0], [8, 0], [0, 8]], float)[y] + scale * rng.normal(size=(n, 2))
    return x, y


def npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def image_folder(root: Path, sizes=((8, 8),), mode: str = "L", per_class: int = 6) -> Path:
    rng = np.random.default_rng(0)
    for c, name in enumerate(("cat", "dog")):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            w, h = sizes[i % len(sizes)]
            shape = (h, w) if mode == "L" else (h, w, 3)
            a = rng.integers(0, 128, shape) + 127 * c
            Image.fromarray(a.astype(np.uint8), mode).save(root / name / f"{i}.png")
    return root


def state(data: Path) -> dict[str, bytes]:
    """Every file under the data folder with its bytes: what a refused import must not change."""
    return {str(p): p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file()}


# -- each format ------------------------------------------------------------------------------
def test_npz_imports_with_its_facts_and_loads_as_stored(memcore_env, tmp_path):
    x, y = blobs()
    info, notes = imports.add(npz(tmp_path / "b.npz", x=x.astype(np.float64), y=y), "blobs")
    assert notes == [] and info.imported and "blobs" in names()
    assert (info.input_shape, info.classes, info.split) == ((1, 2), ("0", "1", "2"), "stratified")
    assert info.n_train + info.n_val == info.n_images == 300 and info.n_val == 60
    assert info.value_range == (
        float(x.astype(np.float32).min()),
        float(x.astype(np.float32).max()),
    )
    assert len(info.content_hash) == 64 and (memcore_env["data"] / info.file).is_file()
    ds = load(DataSpec(dataset="blobs"))
    assert (ds.n_train, ds.n_val, ds.n_classes, ds.input_shape) == (240, 60, 3, (1, 2))
    joined = np.concatenate([ds.x_train.numpy(), ds.x_val.numpy()])[:, 0]
    assert sorted(map(tuple, joined)) == sorted(map(tuple, x.astype(np.float32)))  # values kept


def test_npz_with_its_own_validation_and_odd_labels(memcore_env, tmp_path):
    x, y = blobs(200)
    labels = np.array([3, 7, 9])[y]  # not 0..C-1: mapped in order, names kept
    f = npz(tmp_path / "v.npz", x=x[:150], y=labels[:150], x_val=x[150:], y_val=labels[150:])
    info, _ = imports.add(f, "withval")
    assert (info.split, info.n_train, info.n_val, info.classes) == (
        "given",
        150,
        50,
        ("3", "7", "9"),
    )
    ds = load(DataSpec(dataset="withval"))
    assert ds.y_val.tolist() == y[150:].tolist()


def test_image_folder_and_its_zip_import(memcore_env, tmp_path):
    root = image_folder(tmp_path / "imgs")
    info, notes = imports.add(root, "pics")
    assert (info.input_shape, info.classes, info.n_images) == ((1, 8, 8), ("cat", "dog"), 12)
    assert info.value_range[0] >= 0 and info.value_range[1] <= 1 and "/ 255" in info.representation
    zipped = tmp_path / "imgs.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for p in root.rglob("*.png"):
            z.write(p, Path("imgs") / p.relative_to(root))  # one top folder, as zip tools make
    info2, _ = imports.add(zipped, "pics-zip", image_size=4)
    assert info2.input_shape == (1, 4, 4) and info2.classes == ("cat", "dog")
    spec = preset("digits-mlp", **{"data.dataset": "pics", "model.arch": "cnn"})
    assert spec.model.arch == "cnn"  # image data: the CNN is allowed


def test_mixed_image_sizes_need_a_size_and_are_resized_to_it(memcore_env, tmp_path):
    root = image_folder(tmp_path / "mixed", sizes=((8, 8), (10, 6)), mode="RGB")
    with pytest.raises(imports.BadDataset, match=r"mixed sizes.*--image-size N.*resized"):
        imports.add(root, "mixed")
    info, notes = imports.add(root, "mixed", image_size=8)
    assert info.input_shape == (3, 8, 8) and any("mixed sizes were resized" in n for n in notes)


def test_csv_with_a_text_label_column(memcore_env, tmp_path):
    x, y = blobs(90)
    rows = ["a,b,species"] + [f"{u},{v},{'xyz'[k]}" for (u, v), k in zip(x, y, strict=True)]
    (tmp_path / "t.csv").write_text("\n".join(rows))
    info, _ = imports.add(tmp_path / "t.csv", "tab", label="species")
    assert (info.input_shape, info.classes) == ((1, 2), ("x", "y", "z"))


# -- bad input: refused, named, nothing changed -------------------------------------------------
def _bad_files(tmp: Path) -> dict[str, tuple[Path, dict, str]]:
    x, y = blobs(30)
    nan = x.copy()
    nan[4, 1] = np.nan
    inf = x.copy()
    inf[2, 0] = np.inf
    (tmp / "corrupt.npz").write_bytes(b"PK\x03\x04 this is not an npz")
    (tmp / "nolabel.csv").write_text("a,b\n1,2\n3,4\n")
    mixed = image_folder(tmp / "mixed", sizes=((8, 8), (9, 9)))
    return {
        "nan": (npz(tmp / "nan.npz", x=nan, y=y), {}, r"NaN or infinite values in 1 examples"),
        "inf": (npz(tmp / "inf.npz", x=inf, y=y), {}, r"NaN or infinite.*drop or fill"),
        "lengths": (npz(tmp / "len.npz", x=x, y=y[:-3]), {}, r"30 examples but y has 27 labels"),
        "no labels": (npz(tmp / "noy.npz", x=x), {}, r"no labels.*save the labels as y"),
        "no label column": (tmp / "nolabel.csv", {}, r"no labels: name the label column"),
        "non-integer": (npz(tmp / "frac.npz", x=x, y=y + 0.5), {}, r"non-integer labels.*0\.\.C-1"),
        "text labels": (npz(tmp / "txt.npz", x=x, y=np.array(["a", "b"] * 15)), {}, r"non-int"),
        "one class": (npz(tmp / "one.npz", x=x, y=0 * y), {}, r"single class.*at least 2"),
        "too many classes": (
            npz(tmp / "many.npz", x=np.random.rand(1002, 3), y=np.arange(1002)), {},
            r"1002 classes, more than 1000",
        ),
        "empty": (npz(tmp / "empty.npz", x=np.zeros((0, 2)), y=np.zeros(0, int)), {}, r"is empty"),
        "corrupt": (tmp / "corrupt.npz", {}, r"corrupt or not an \.npz.*numpy\.savez"),
        "mixed sizes": (mixed, {}, r"mixed sizes.*resized"),
        "over the cap": (
            npz(tmp / "big.npz", x=x, y=y), {"max_bytes": 100},
            r"over the cap.*MEMCORE_MAX_UPLOAD_MB",
        ),
        "built-in name": (npz(tmp / "ok.npz", x=x, y=y), {"name": "digits"}, r"built-in.*another"),
        "bad name": (tmp / "ok.npz", {"name": "../evil"}, r"name '\.\./evil' is invalid"),
        "missing file": (tmp / "nope.npz", {}, r"does not exist"),
    }  # fmt: skip


BAD = (
    "nan", "inf", "lengths", "no labels", "no label column", "non-integer", "text labels",
    "one class", "too many classes", "empty", "corrupt", "mixed sizes", "over the cap",
    "built-in name", "bad name", "missing file",
)  # fmt: skip


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_refused_with_its_message_and_changes_nothing(case, memcore_env, tmp_path):
    x, y = blobs(30)
    imports.add(npz(tmp_path / "keep.npz", x=x, y=y), "kept")  # a registry that must not move
    before = state(memcore_env["data"])
    path, kw, message = _bad_files(tmp_path)[case]
    with pytest.raises(imports.BadDataset, match=message):
        imports.add(path, kw.pop("name", "newone"), **kw)
    assert state(memcore_env["data"]) == before
    assert "newone" not in REGISTRY


def test_a_taken_name_needs_replace(memcore_env, tmp_path):
    x, y = blobs(30)
    imports.add(npz(tmp_path / "a.npz", x=x, y=y), "mine")
    before = state(memcore_env["data"])
    with pytest.raises(imports.BadDataset, match=r"already imported.*--replace"):
        imports.add(npz(tmp_path / "b.npz", x=x + 1, y=y), "mine")
    assert state(memcore_env["data"]) == before


# -- keys, removal ------------------------------------------------------------------------------
def test_a_changed_file_gives_different_run_keys(memcore_env, tmp_path):
    x, y = blobs(60)
    imports.add(npz(tmp_path / "a.npz", x=x, y=y), "mine")
    spec = preset("digits-mlp", **{"data.dataset": "mine"})
    first = spec.key
    assert preset("digits-mlp", **{"data.dataset": "mine"}).key == first  # stable
    x[0, 0] += 1e-3  # one value changed, same name
    imports.add(npz(tmp_path / "a.npz", x=x, y=y), "mine", replace=True)
    assert spec.key != first
    assert load(DataSpec(dataset="mine")).x_train.shape[0] == 48  # the new file is read
    imports.add(npz(tmp_path / "c.npz", x=x, y=y), "mine2")  # same content, other name
    assert preset("digits-mlp", **{"data.dataset": "mine2"}).key != spec.key


def test_removed_dataset_keeps_its_runs_readable_and_cannot_train(memcore_env, tmp_path):
    x, y = blobs(60)
    info, _ = imports.add(npz(tmp_path / "a.npz", x=x, y=y), "gone")
    spec = preset("digits-mlp", **{"data.dataset": "gone"})
    key = spec.key
    imports.remove("gone")
    assert "gone" not in names() and not (memcore_env["data"] / info.file).exists()
    again = type(spec).from_json(spec.to_json())  # a stored spec still reads, same key
    assert again.key == key
    with pytest.raises(DatasetUnavailable, match=r"was removed.*datasets add"):
        load(DataSpec(dataset="gone"))
    with pytest.raises(imports.BadDataset, match="no imported dataset"):
        imports.remove("gone")
    with pytest.raises(imports.BadDataset, match="built-in"):
        imports.remove("digits")


def test_cli_add_list_remove(memcore_env, tmp_path, capsys):
    x, y = blobs(60)
    f = npz(tmp_path / "a.npz", x=x, y=y)
    assert cli.main(["datasets", "add", str(f), "--name", "cliblobs"]) == 0
    out = capsys.readouterr().out
    assert "imported cliblobs: 48 train / 12 val, input 1x2, 3 classes" in out
    assert cli.main(["datasets", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    row, info = rows["cliblobs"], REGISTRY["cliblobs"]
    assert row["status"] == "imported" and row["n_classes"] == 3
    assert row["content_hash"] == info.content_hash and row["value_range"] == list(info.value_range)
    assert row["origin"] == str(f.resolve()) and row["representation"]
    assert cli.main(["datasets", "add", str(f), "--name", "digits"]) == 2
    assert "built-in" in capsys.readouterr().err
    assert cli.main(["datasets", "remove", "cliblobs"]) == 0
    assert cli.main(["datasets"]) == 0
    assert "removed" in capsys.readouterr().out.split("cliblobs")[-1].splitlines()[0]
    registry = json.loads(user_registry_path().read_text())
    assert registry["datasets"]["cliblobs"]["removed"] is True


def test_uploads_take_npz_or_zip_only(memcore_env):
    with pytest.raises(imports.BadDataset, match=r"upload an \.npz.*zipped folder"):
        imports.add_upload(b"a,b\n1,2\n", "t.csv", "up")
    assert not user_registry_path().exists()


def test_a_run_queued_before_its_data_was_replaced_fails_instead_of_training(memcore_env, tmp_path):
    from memcore.jobs import api, lease
    from memcore.jobs.worker import Worker
    from memcore.store import open_store

    x, y = blobs(60)
    imports.add(npz(tmp_path / "a.npz", x=x, y=y), "mine")
    spec = preset("digits-mlp", **{"data.dataset": "mine", "train.epochs": 1})
    store = open_store(memcore_env["store"])
    key = api.submit(spec, store)
    imports.add(npz(tmp_path / "b.npz", x=x + 1, y=y), "mine", replace=True)
    w = Worker(store, runner=lambda *a, **k: iter(()))
    w.run_job(lease.claim(store, w.id))
    js = api.status(key, store)
    assert js.status == "failed" and "was replaced after this run was queued" in js.error


def test_an_uploaded_zip_of_an_image_folder_imports(memcore_env, tmp_path):
    import io

    root = image_folder(tmp_path / "imgs", mode="RGB")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in root.rglob("*.png"):
            z.write(p, p.relative_to(root))  # class folders at the top of the zip
    info, _ = imports.add_upload(buf.getvalue(), "imgs.zip", "zipped", owner="visitor a")
    assert (info.input_shape, info.classes, info.owner) == ((3, 8, 8), ("cat", "dog"), "visitor a")
    assert info.origin == "upload imgs.zip"


def test_an_image_folder_with_train_and_val_folders_keeps_its_split(memcore_env, tmp_path):
    image_folder(tmp_path / "split" / "train", per_class=6)
    image_folder(tmp_path / "split" / "val", per_class=2)
    info, _ = imports.add(tmp_path / "split", "split")
    assert (info.split, info.n_train, info.n_val, info.classes) == ("given", 12, 4, ("cat", "dog"))
