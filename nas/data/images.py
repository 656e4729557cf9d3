"""Image data for supernet training and subnet evaluation, held in memory as uint8 tensors.

Sources: ``.npz`` arrays (``x_train``, ``y_train``, optional ``x_test``, ``y_test``, ``classes``;
images ``[N, H, W, 3]`` or ``[N, 3, H, W]`` uint8), ImageFolder directories (``DIR/train/<class>/*``
and ``DIR/test/<class>/*``, or ``DIR/<class>/*`` for a training set alone) and the same layout
packed as a ``.tar.gz``, and ``synthetic[:key=value,...]`` (class templates plus noise; for tests).
The held-out split (for BN recalibration and subnet evaluation) is carved from the training set.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from search_spaces.checks import check_fits_in_memory, check_regular_file, check_seed, format_bytes
from search_spaces.errors import InvalidInput

from .cache import cached_path, write_cache

__all__ = ["ImageData", "load_images", "holdout_split", "channel_stats", "IMAGE_SUFFIXES", "SPLIT_SEED"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
#: largest image file a data set may hold: no photo comes near it, and a 14 MB .tar.gz can hold a 3 GiB member
MAX_IMAGE_BYTES = 256 * 2**20
SPLIT_SEED = 0  # the held-out split does not depend on the training seed, so runs share it


@dataclass
class ImageData:
    x_train: torch.Tensor  # uint8 [N, 3, H, W]
    y_train: torch.Tensor  # int64 [N]
    x_test: torch.Tensor | None = None
    y_test: torch.Tensor | None = None
    classes: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes else int(self.y_train.max()) + 1

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[-1])

    def check_labels(self, n_classes: int, model: str) -> None:
        """Every label must index a class of a model with ``n_classes`` outputs."""
        for name, y in (("train", self.y_train), ("test", self.y_test)):
            if y is None or len(y) == 0:
                continue
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= n_classes:
                bad = hi if hi >= n_classes else lo
                raise InvalidInput(f"{self.source}: {name} label {bad} is out of range; {model} has {n_classes} "
                                   f"classes (labels 0..{n_classes - 1})")


def load_images(path: str | Path) -> ImageData:
    """Load a data set from an .npz file, an ImageFolder directory or .tar.gz, or ``synthetic[:...]``."""
    text = str(path)
    if text == "synthetic" or text.startswith("synthetic:"):
        return synthetic_images(**_parse_spec(text))
    p = Path(path)
    check_regular_file(p, "data path")  # a named pipe would block the read forever
    if not p.exists():
        raise InvalidInput(f"data path {p} does not exist (expected an .npz file, an ImageFolder directory, "
                           "a .tar.gz of one, or synthetic)")
    if p.suffix == ".npz" and not p.is_dir():
        data = _from_npz(p)
    elif p.is_dir() or p.name.endswith((".tar.gz", ".tgz", ".tar")):
        data = _decoded(p)
    else:
        raise InvalidInput(f"data file {p} is neither an .npz file nor a .tar.gz of an ImageFolder tree")
    if len(data.y_train) == 0:
        raise InvalidInput(f"{p} holds no training images")
    return data


def _decoded(path: Path) -> ImageData:
    """JPEG/PNG trees are decoded once; later loads read the cached arrays (``nas.data.cache``)."""
    cached = cached_path(path)
    if cached.is_file():
        try:
            data = _from_npz(cached)
            data.source = str(path)
            return data
        except InvalidInput:
            cached.unlink(missing_ok=True)  # a damaged cache entry: decode again
    data = _from_folder(path) if path.is_dir() else _from_tar(path)
    arrays = {"x_train": data.x_train.numpy(), "y_train": data.y_train.numpy(),
              "classes": np.asarray(data.classes, dtype=str)}
    if data.x_test is not None:
        arrays |= {"x_test": data.x_test.numpy(), "y_test": data.y_test.numpy()}
    write_cache(path, arrays)
    return data


def holdout_split(n: int, holdout: float | int, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Indices (fit, held out), in random order, of a seeded split; ``holdout`` is a fraction (< 1) or a count."""
    count = max(1, int(round(holdout * n))) if 0 < holdout < 1 else int(holdout)
    if count != holdout and holdout >= 1:
        raise InvalidInput(f"holdout is a share in (0, 1) or a whole number of images, got {holdout}")
    if count < 1 or count >= n:
        raise InvalidInput(f"the held-out split needs 1..{n - 1} of the {n} training images; got holdout={holdout}")
    order = np.random.default_rng(seed).permutation(n)  # both parts stay shuffled: any prefix is a random sample
    return order[count:], order[:count]


def channel_stats(x: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images, in [0, 1] units (for normalization)."""
    flat = x.permute(1, 0, 2, 3).reshape(x.shape[1], -1).double() / 255.0
    return flat.mean(1).tolist(), flat.std(1).clamp_min(1e-3).tolist()


# ----------------------------------------------------------------------------------- sources
def _to_nchw(x: np.ndarray, where: str) -> torch.Tensor:
    if x.ndim != 4 or x.dtype != np.uint8:
        raise InvalidInput(f"{where} must be uint8 images [N, H, W, 3] or [N, 3, H, W]; got {x.dtype} {x.shape}")
    if x.shape[-1] == 3 and x.shape[1] != 3:
        x = x.transpose(0, 3, 1, 2)
    if x.shape[1] != 3:
        raise InvalidInput(f"{where} must have 3 colour channels; got shape {x.shape}")
    return torch.from_numpy(np.ascontiguousarray(x))


def _labels(y: np.ndarray, n: int, where: str) -> torch.Tensor:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n or y.dtype.kind not in "iu":
        raise InvalidInput(f"{where} must hold {n} integer labels; got {y.dtype} {y.shape}")
    return torch.from_numpy(y.astype(np.int64))


def _from_npz(path: Path) -> ImageData:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        # numpy's own text advises pickle loading, which a data file never needs: keep its first clause
        reason = "it is empty" if path.stat().st_size == 0 else str(exc).split(". ")[0].strip() or type(exc).__name__
        raise InvalidInput(f"{path} is not a readable .npz file ({reason})") from None
    missing = [k for k in ("x_train", "y_train") if k not in arrays]
    if missing:
        raise InvalidInput(f"{path} lacks {', '.join(missing)} (keys: {', '.join(arrays) or 'none'})")
    x = _to_nchw(arrays["x_train"], f"{path.name}:x_train")
    y = _labels(arrays["y_train"], len(x), f"{path.name}:y_train")
    xt = yt = None
    if "x_test" in arrays and "y_test" in arrays:
        xt = _to_nchw(arrays["x_test"], f"{path.name}:x_test")
        yt = _labels(arrays["y_test"], len(xt), f"{path.name}:y_test")
    classes = [str(c) for c in arrays["classes"]] if "classes" in arrays else []
    return ImageData(x, y, xt, yt, classes, str(path))


def _decode(blob: bytes | Path, size: int | None, name: str) -> np.ndarray:
    """One image as uint8 [H, W, 3]; ``InvalidInput`` naming the file (or tar member) that is not one."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(blob) if isinstance(blob, bytes) else blob) as im:
            im = im.convert("RGB")
            if size is not None and im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            return np.asarray(im, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        # PIL's own message names a BytesIO object for a tar member: say which member it was instead
        reason = ("not an image PIL can read" if isinstance(exc, Image.UnidentifiedImageError)
                  else " ".join(str(exc).split())[:120] or type(exc).__name__)
        raise InvalidInput(f"image {name} cannot be decoded ({reason}); remove or replace it") from None


def _check_image_bytes(name: str, nbytes: int) -> None:
    if nbytes > MAX_IMAGE_BYTES:
        raise InvalidInput(f"image {name} is {format_bytes(nbytes)}, more than the {format_bytes(MAX_IMAGE_BYTES)} "
                           f"an image file of a data set may have")


def _assemble(items: dict[str, list[tuple[str, object]]], source: str, read) -> ImageData:
    """``items``: split -> [(class name, file handle)]; ``read(handle) -> bytes|Path``."""
    if not items.get("train"):
        raise InvalidInput(f"no images found in {source}: expected class folders with "
                           f"{'/'.join(IMAGE_SUFFIXES)} files (DIR/<class>/* or DIR/train/<class>/*)")
    classes = sorted({c for c, _ in items["train"]})
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({c for c, _ in items.get("test", []) if c not in index})
    if unknown:
        raise InvalidInput(f"{source}: test classes {', '.join(unknown)} have no training images")
    size = None
    out: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for split, files in items.items():
        files = sorted(files, key=lambda cf: (index[cf[0]], str(cf[1])))
        images = []
        for _, handle in files:
            img = _decode(read(handle), size, f"{source}:{handle}" if isinstance(handle, str) else str(handle))
            if size is None:  # every image is brought to the first one's size: will they all fit (twice, stacked)?
                check_fits_in_memory(2 * img.nbytes * sum(map(len, items.values())),
                                     f"{source}: {sum(map(len, items.values()))} images at "
                                     f"{img.shape[0]}x{img.shape[0]} (the first one's size)")
            size = size or img.shape[0]
            images.append(img)
        x = _to_nchw(np.stack(images), f"{source}/{split}")
        out[split] = (x, torch.tensor([index[c] for c, _ in files], dtype=torch.int64))
    xt, yt = out.get("test", (None, None))
    return ImageData(*out["train"], xt, yt, classes, source)


def _split_and_class(parts: tuple[str, ...]) -> tuple[str, str] | None:
    if len(parts) < 2:
        return None
    for i, part in enumerate(parts[:-2]):
        if part in ("train", "test"):
            return part, parts[i + 1]
    return "train", parts[-2]


def _from_folder(root: Path) -> ImageData:
    items: dict[str, list] = {}
    for f in root.rglob("*"):
        if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file():
            found = _split_and_class(f.relative_to(root).parts)
            if found:
                _check_image_bytes(str(f), f.stat().st_size)
                items.setdefault(found[0], []).append((found[1], f))
    return _assemble(items, str(root), lambda f: f)


def _from_tar(path: Path) -> ImageData:
    try:
        with tarfile.open(path) as tar:
            items: dict[str, list] = {}
            members = []
            for member in tar:  # headers only: sizes are checked before any member is read
                if member.isfile() and Path(member.name).suffix.lower() in IMAGE_SUFFIXES:
                    found = _split_and_class(Path(member.name).parts)
                    if found:
                        _check_image_bytes(f"{path}:{member.name}", member.size)
                        members.append(member)
                        items.setdefault(found[0], []).append((found[1], member.name))
            check_fits_in_memory(sum(m.size for m in members), f"the images of {path}")
            blobs = {m.name: tar.extractfile(m).read() for m in members}
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InvalidInput(f"{path} is not a readable tar archive: {exc}") from None
    return _assemble(items, str(path), lambda name: blobs[name])


def _parse_spec(text: str) -> dict:
    out = {}
    for item in filter(None, text.partition(":")[2].split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in ("n_train", "n_test", "classes", "size", "seed"):
            raise InvalidInput(f"synthetic data option {item!r}: use key=value with keys n_train, n_test, classes, "
                               "size, seed (e.g. synthetic:n_train=256,classes=10)")
        try:
            out[key] = int(value)
        except ValueError:
            raise InvalidInput(f"synthetic data option {key} must be an integer, got {value!r}") from None
    return out


def synthetic_images(n_train: int = 512, n_test: int = 128, classes: int = 10, size: int = 32,
                     seed: int = 0) -> ImageData:
    """A learnable toy set: each class is a smooth random colour template; images add noise and shifts."""
    if min(n_train, classes, size) < 1 or n_test < 0:
        raise InvalidInput("synthetic data needs positive n_train, classes and size")
    check_seed(seed, "synthetic data option seed")
    # make() below holds about four float32 copies of a split while it builds it, then keeps uint8 images
    values = 3 * size * size
    need = values * (17 * max(n_train, n_test) + n_train + n_test + 8 * classes)
    check_fits_in_memory(need, f"synthetic data n_train={n_train}, n_test={n_test}, classes={classes}, size={size}")
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(classes, 3, 4, 4, generator=gen)
    templates = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, classes, (n,), generator=gen)
        x = templates[y] * 0.7 + torch.rand(n, 3, size, size, generator=gen) * 0.3
        shift = int(torch.randint(-2, 3, (1,), generator=gen))
        x = torch.roll(x, shifts=shift, dims=3)
        return (x * 255).round().clamp(0, 255).to(torch.uint8), y

    x, y = make(n_train)
    xt, yt = make(n_test) if n_test else (None, None)
    return ImageData(x, y, xt, yt, [f"class{i}" for i in range(classes)],
                     f"synthetic:n_train={n_train},n_test={n_test},classes={classes},size={size},seed={seed}")
