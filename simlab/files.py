"""The files simlab reads and writes, and how.

A file a user names as input (a scenario file or script, a certificate to pin) is read by
:func:`read_input`: only a regular file, opened without blocking and read with a bound, so
a FIFO, a folder or ``/dev/zero`` is refused at once instead of hanging or filling memory.

A command plans its outputs before any run starts (:func:`plan`): the folder must be one
simlab can create or write into, and no file it would write may exist yet unless the user
said ``--force``. Each file is then written whole or not at all, and a command's files all
or none (:func:`write_all`), so an interrupted or failed command leaves no half-written
file under a final name, no part of its set of files (nor an empty folder: a folder is
created only when there is something to write). Without ``--force`` a file is written only
under a name that is still free, so a file that appeared there while the runs went on is
not replaced either.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import secrets
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from simlab.errors import OutputError, SimlabError

__all__ = [
    "check_output_dir",
    "output_dir",
    "plan",
    "read_input",
    "read_text",
    "size",
    "write",
    "write_all",
]


def size(count: int) -> str:
    """A byte count as a cap is stated: ``64 KiB``, ``1 MiB``."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale and count % scale == 0:
            return f"{count // scale:,} {unit}"
    return f"{count:,} bytes"


def read_input(
    path: str | os.PathLike[str], cap: int, what: str, error: type[SimlabError]
) -> bytes:
    """The bytes of ``path``, a regular file of at most ``cap`` bytes, or ``error`` naming
    it as a ``what`` ("scenario file"). The file is opened without blocking (a FIFO with no
    writer would block ``open``), checked with ``fstat`` on the same descriptor, and read
    for at most ``cap + 1`` bytes, so it costs the same whatever is behind the name."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise error(f"cannot read {what} {path}: {_why(exc)}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(f"cannot read {what} {path}: not a regular file")
        with open(fd, "rb", closefd=False) as f:
            data = f.read(cap + 1)
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {_why(exc)}") from None
    finally:
        os.close(fd)
    if len(data) > cap:
        raise error(f"{path}: larger than {size(cap)}, the most a {what} may hold")
    return data


def read_text(path: str | os.PathLike[str], cap: int, what: str, error: type[SimlabError]) -> str:
    """:func:`read_input`, decoded as UTF-8 (a byte-order mark, as some editors save, is
    dropped); a byte that is not UTF-8 is ``error`` naming its line."""
    data = read_input(path, cap, what, error).removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(
            f"{path}: line {line}: not UTF-8 (byte 0x{data[exc.start]:02x}); a {what} is UTF-8 text"
        ) from None


def _why(exc: Exception) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)


def check_output_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a folder simlab could create or write into; raise if it cannot be."""
    if not str(path):
        raise OutputError("no output folder given (an empty name)")
    folder = Path(path)
    existing = folder
    try:
        while not existing.exists():
            if existing.parent == existing:
                break
            existing = existing.parent
        is_dir = existing.is_dir()
    except OSError as exc:  # e.g. a name too long for the file system
        raise OutputError(f"cannot write into {folder}: {exc.strerror}") from None
    if not is_dir:
        what = "it" if existing == folder else str(existing)
        raise OutputError(f"cannot write into {folder}: {what} exists and is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write into {folder}: permission denied on {existing}")
    return folder


def output_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and its parents) if needed; return it."""
    folder = check_output_dir(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {folder}: {exc.strerror}") from None
    return folder


def plan(
    folder: str | os.PathLike[str], names: Iterable[str], *, force: bool = False
) -> list[Path]:
    """The paths of ``names`` in ``folder``, checked before any work is done.

    Each name must be a plain file name (no folder part), and without ``force`` none may
    exist yet: a symlink there counts as existing even if it dangles, since writing would
    replace it. With ``force`` an existing file or symlink is replaced (the link itself,
    never the file it points to), but a folder is not.
    """
    out = check_output_dir(folder)
    paths = []
    for name in names:
        if not name or "\0" in name or name in (".", "..") or Path(name).name != name:
            raise OutputError(f"cannot write {name!r} into {out}: not a plain file name")
        paths.append(out / name)
    existing = [path for path in paths if os.path.lexists(path)]
    for path in existing:
        if path.is_dir() and not path.is_symlink():
            raise OutputError(f"cannot write {path}: a folder of that name is in the way")
    if existing and not force:
        more = len(existing) - 1
        raise OutputError(
            f"{existing[0]} already exists; pass --force to replace it"
            if not more
            else f"{existing[0]} and {more} more of the files this command writes already "
            "exist; pass --force to replace them"
        )
    return paths


def write(path: Path, data: bytes | str, *, replace: bool = True) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` whole or not at all (:func:`write_all`)."""
    return write_all({path: data}, replace=replace)[0]


def write_all(files: Mapping[Path, bytes | str], *, replace: bool = True) -> list[Path]:
    """Write each ``{path: data}`` (text as UTF-8) whole, and all of them or none.

    Every file's bytes go first to a new hidden file in its folder, flushed to disk; only
    when all are written is each renamed over its path (:func:`os.replace`, atomic), so a
    full disk or a file-size limit leaves no file of the set under its final name (nor a
    folder this call created), and a reader sees the old file or the complete new one. A
    symlink at a path is replaced by the file, never written through. With ``replace``
    false, a file is linked under its path only if nothing is there (:func:`os.link` fails
    rather than replace), else :class:`OutputError`: for a command that planned its
    outputs without ``--force``, a file that appeared since is the user's.

    If a rename fails after the bytes are all written (rare: a file made immutable, a
    folder put in the way since the command planned), the files this call had created are
    removed again; a file it had already replaced stays replaced, whole. Temporary files
    are removed on any error.
    """
    folders = _missing_folders(path.parent for path in files)
    staged: list[tuple[Path, Path]] = []  # (temporary file, final path)
    created: list[Path] = []  # final paths where nothing was before
    placed: list[Path] = []
    done = False
    try:
        for path, data in files.items():
            staged.append((_staged(path, data), path))
        for temp, path in staged:
            new = not os.path.lexists(path)
            try:
                if replace:
                    os.replace(temp, path)
                else:
                    _link_new(temp, path)
            except OSError as exc:
                raise OutputError(f"cannot write {path}: {exc.strerror}") from None
            placed.append(path)
            if new:
                created.append(path)
        done = True
    finally:
        if not done:
            for temp, _ in staged:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
            for path in created:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            for folder in reversed(folders):  # deepest first; only if left empty
                with contextlib.suppress(OSError):
                    folder.rmdir()
    return placed


def _missing_folders(parents: Iterable[Path]) -> list[Path]:
    """The folders that do not exist yet on the way to each of ``parents``, outermost
    first: what writing there creates, and a failed write takes back."""
    missing: list[Path] = []
    for parent in parents:
        chain = []
        folder = parent
        while not os.path.lexists(folder) and folder.parent != folder:
            chain.append(folder)
            folder = folder.parent
        missing += [f for f in reversed(chain) if f not in missing]
    return missing


def _staged(path: Path, data: bytes | str) -> Path:
    """A new hidden file beside ``path`` holding ``data``, flushed to disk."""
    folder = output_dir(path.parent)
    payload = data.encode() if isinstance(data, str) else data
    temp, fd = _create_temporary(folder, path.name)
    done = False
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        done = True
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        if not done:  # an error, or an interrupt (Ctrl-C)
            with contextlib.suppress(OSError):
                os.unlink(temp)
    return temp


def _link_new(temp: Path, path: Path) -> None:
    """Give the complete file ``temp`` the name ``path`` if that name is free, atomically."""
    taken = f"{path} appeared while simlab was working; not replaced (pass --force to replace it)"
    try:
        os.link(temp, path)
    except FileExistsError:
        raise OutputError(taken) from None
    except OSError:  # a file system without hard links: check, then rename
        if os.path.lexists(path):
            raise OutputError(taken) from None
        os.replace(temp, path)
        return
    os.unlink(temp)


def _create_temporary(folder: Path, name: str) -> tuple[Path, int]:
    """A new file ``.NAME.RANDOM.part`` in ``folder``, open for writing. ``O_EXCL`` makes
    the creation fail rather than follow anything already there; the mode is the one a
    plain ``open`` gives (0666 less the umask), not :mod:`tempfile`'s 0600."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp = folder / f".{name}.{secrets.token_hex(4)}.part"
        try:
            return temp, os.open(temp, flags, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"cannot write into {folder}: {exc.strerror}") from None
    raise OutputError(f"cannot write into {folder}: no free temporary name")
